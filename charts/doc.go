// Package charts tests the deployment artefacts: the Helm chart in
// scim-bridge/, and the kustomize base, Grafana dashboard, Prometheus rules
// and Dockerfile of the repository.
package charts
