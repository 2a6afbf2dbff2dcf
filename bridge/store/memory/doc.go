// Package memory is the in-memory store backend: the whole store.Store
// contract (tombstones, link versions, lease owners, ordering) in maps
// behind one mutex, for tests and for runs that need no persistence.
package memory
