// Command gainsight-sim runs the Gainsight User Management API simulator as
// a standalone HTTP server, for trying the bridge and for tests outside Go.
package main
