// Package postgres owns the PostgreSQL backend of the bridge's store, which
// several replicas can share: row locks for compare-and-swap and group
// membership, SKIP LOCKED dirty claims with leases, a shared rate budget and
// advisory locks for run-once jobs. A batch whose COMMIT got no answer is
// resolved by the transaction's status (txid_status) on another connection.
package postgres
