// Package bridge wires the bridge's components together and runs them: the
// SCIM listener, the admin listener (metrics, health, explain), the sync
// engine and configuration reloads, for as long as its context lives.
package bridge
