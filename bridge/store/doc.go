// Package store owns the bridge's durable state: SCIM users and groups, their
// links to Gainsight users, per-user sync state and the dirty set, behind one
// Store interface that every backend implements and that the conformance
// suite checks.
package store
