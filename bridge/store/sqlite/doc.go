// Package sqlite owns the embedded SQLite backend of the bridge's store: one
// database file in WAL mode with a single writer connection, migrated on
// open.
package sqlite
