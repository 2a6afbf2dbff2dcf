// Package gainsight is the REST client for Gainsight's User Management API in
// both dialects (services and users-v1), with typed errors, a shared rate
// budget of fixed windows, and retries with backoff.
package gainsight
