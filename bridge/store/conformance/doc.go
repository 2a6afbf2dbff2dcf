// Package conformance owns the test suite that every store.Store backend
// must pass: RunTests checks the whole documented contract.
package conformance
