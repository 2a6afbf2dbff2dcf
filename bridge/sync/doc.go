// Package sync owns the sync engine: it drains the store's dirty set into
// Gainsight. Each pass over a claimed batch loads the users (load.go),
// plans with a pure function what each needs and in which order (plan.go),
// sends it in batched creates, status changes and updates (execute.go) and
// records the outcomes under compare-and-swap (finish.go); leases, budget-
// aware claiming (drain.go), drift repair and tombstone retention
// (drift.go) surround it.
package sync
