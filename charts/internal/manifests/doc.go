// Package manifests strictly decodes multi-document Kubernetes YAML into
// typed API objects, rejecting unknown and duplicate fields.
package manifests
