// Package migratetest checks, for the SQL backends' tests, that a database
// written by an earlier schema keeps its data through later migrations.
package migratetest
