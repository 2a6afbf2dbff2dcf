// Package gainsighttest is a stateful stand-in for Gainsight's User
// Management API (services and users-v1 dialects over one user table) with
// rate windows, fault injection and admin endpoints, served as an
// http.Handler.
package gainsighttest
