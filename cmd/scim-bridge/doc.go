// Command scim-bridge is a SCIM 2.0 service provider that provisions users
// and groups pushed by identity providers into Gainsight.
package main
