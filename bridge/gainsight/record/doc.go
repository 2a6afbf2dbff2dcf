// Package record holds the Gainsight user record type, shared by the pure
// mapping (translate) and the REST client without either importing the
// other.
package record
