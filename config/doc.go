// Package config owns the bridge's YAML configuration: its schema, defaults,
// strict decoding, secret resolution and Validate, which reports every
// problem with its field path.
package config
