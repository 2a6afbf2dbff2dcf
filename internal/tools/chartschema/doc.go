// Command chartschema writes the configuration file's JSON Schema, derived
// from the config package's structs, into the Helm chart's
// values.schema.json under "config", leaving the rest of the file as it is.
//
//	go run ./internal/tools/chartschema -schema charts/scim-bridge/values.schema.json
//
// `make schema` (or `go generate ./config`) runs it.
package main
