// Command scim-load drives a running bridge over HTTP with the traffic
// identity providers send — creates, userName look-ups, Okta's
// look-up-then-create, PATCHes, group member adds and pushes of a group
// that change nothing, reads by id, list pages
// deep in the set — at a chosen
// concurrency, after seeding users through SCIM creates, and prints
// requests per second, latency percentiles and the bridge's resident
// memory. It starts the bridge itself (a demo-style configuration beside
// an in-process Gainsight simulator) on SQLite or PostgreSQL, or drives
// one already running.
package main
