// Package pgtest gives tests a PostgreSQL database of their own: the DSN
// from SCIM_BRIDGE_TEST_POSTGRES_DSN and a fresh schema per test.
package pgtest
