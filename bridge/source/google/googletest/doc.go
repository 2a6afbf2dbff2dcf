// Package googletest is a stateful fake of the Google Workspace Admin SDK
// Directory API (users, groups and members listings, paged), with suspended
// users, nested groups and injectable quota, server and authorisation
// errors, for tests of the Google source and of the bridge end to end.
package googletest
