// Package plantest fills a freshly migrated store database with enough rows
// for its planner to show whether a lookup reads through an index or the
// whole table, for the backends' plan tests.
package plantest
