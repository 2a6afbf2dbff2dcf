// Package demo holds what `scim-bridge --demo` and the load command
// `scim-load` share: the demo's simulated Gainsight tenant and its group
// profiles, custom fields and roles, so both run the same bridge.
package demo
