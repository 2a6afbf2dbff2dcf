// Package translate is the pure mapping from a SCIM user (and the group
// attributes resolved for it) to the Gainsight record it should have.
package translate
