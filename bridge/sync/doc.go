// Package sync owns the sync engine: it drains the store's dirty set, diffs
// each user's desired Gainsight record against the last confirmed one, and
// sends the difference in batched creates, updates and status changes, with
// adoption of existing Gainsight users, deactivation and per-user retries.
package sync
