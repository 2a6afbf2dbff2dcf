// Package resolve owns group-level attribute resolution: the pure rules by
// which a user's effective super admin flag, license type, roles and custom
// fields follow from the user's own attributes, the profiles of the groups
// the user is in, and the configured defaults.
//
// The rules follow Gainsight's own SCIM user groups:
//
//	attribute              groups                          user's own value
//	superAdmin, boolean    true wins                       takes part: true wins
//	licenseType            highest in the priority wins    takes part in "highest wins"
//	roles, multiPicklist   union, stable order             united with the groups' values, first
//	dropdown, string,      must agree, else a *Conflict    wins over the groups (no conflict)
//	number
//
// A super admin always gets the highest license of the priority list
// (Full by default), whatever else was set. Defaults (license type,
// permission bundles) apply only to attributes that neither the user nor a
// group set.
//
// The user's own value wins for single-valued fields because that is what
// an administrator sees set on the person in the identity provider: it is
// the more specific statement. Grants (booleans, license, roles, picklist
// entries) are additive, so a group can give more than the user's own
// record but never takes anything away from it.
//
// Groups are considered in order of their names (case-insensitively), so
// unions, sources and conflict messages do not depend on the order in which
// the store returned memberships.
package resolve
