// Package sqlstore owns the SQL implementation of store.Store that the SQLite
// and PostgreSQL backends share: one set of portable statements over
// database/sql, parameterised by the few things the two databases do
// differently (row locks, unique-violation and retryable error codes).
package sqlstore
