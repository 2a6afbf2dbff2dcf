// Package translate is the pure mapping from a SCIM user (and the group
// attributes resolved for it) to the Gainsight record it should have.
//
// Mapper.Plan computes the desired record, Mapper.ValidateUser checks a
// SCIM user document before it is accepted, Mapper.CheckGroups rejects
// memberships whose group profiles conflict, Mapper.Explain says where each
// attribute came from, and Diff reduces a desired record to what differs
// from the one Gainsight confirmed. Attribute names in SCIM documents are
// matched case-insensitively (RFC 7643 section 2.1).
package translate
