// Package console is the operator console: server-rendered HTML pages
// under /ui/ on the admin listener that show what the bridge did, to whom
// and why (overview, users, a user's effective attributes and audit trail,
// group profiles), and the operator's actions on a user, behind admin
// tokens or an authenticating proxy.
package console
