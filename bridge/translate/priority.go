package translate

import (
	"reflect"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight/record"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// The priority of a change is decided from what it does to the user's
// desired Gainsight state, the same way for a user write, a group write
// and a configuration reload (ChangePriority): the plan before the change
// against the plan after it.

// accessFields are the record fields that grant or shape access: a change
// of one is high priority, a change of any other field low.
var accessFields = []string{FieldLicenseType, FieldPermissionBundles}

// ChangePriority is the priority of a change that turns a user's plan
// before into after (each with the error planning it gave):
//
//   - urgent when the user should lose access (active, now inactive);
//   - high when it regains access (a reactivation), or its license, roles
//     (permission bundles) or super admin change while it is active;
//   - low when only other fields change (title, phone, locale, manager,
//     names, custom fields), or nothing does, or the user stays inactive;
//   - normal when either plan failed (a group conflict, an unmappable
//     value): what changes is not known.
func ChangePriority(before Plan, beforeErr error, after Plan, afterErr error) store.Priority {
	switch {
	case beforeErr != nil || afterErr != nil:
		return store.PriorityNormal
	case before.Active && !after.Active:
		return store.PriorityUrgent
	case !before.Active && after.Active:
		return store.PriorityHigh
	case !after.Active:
		return store.PriorityLow
	case before.SuperAdmin != after.SuperAdmin:
		return store.PriorityHigh
	}
	for _, f := range accessFields {
		if !sameField(before.Record, after.Record, f) {
			return store.PriorityHigh
		}
	}
	return store.PriorityLow
}

func sameField(a, b record.Record, f string) bool {
	av, aok := a[f]
	bv, bok := b[f]
	return aok == bok && reflect.DeepEqual(av, bv)
}

// UserPriority implements store.Prioritizer: the priority of an update of
// a user from old to new, in the groups it is in. A user the IdP disables
// is urgent even when its plan fails.
func (m *Mapper) UserPriority(old, new store.User, groups []store.GroupRef) store.Priority {
	before, bErr := m.Plan(old, groups)
	after, aErr := m.Plan(new, groups)
	if (bErr != nil || aErr != nil) && old.Active && !new.Active {
		return store.PriorityUrgent
	}
	return ChangePriority(before, bErr, after, aErr)
}

// GroupPriority implements store.Prioritizer: the priority, for one
// member, of a group change that moves it from the groups before to the
// groups after. Only what the groups give is compared (license, roles,
// super admin, custom fields, and whether deprovision.onNoProfiledGroups
// deactivates the user), the same for every member: a member that leaves
// its last access-granting profiled group under that policy is urgent.
func (m *Mapper) GroupPriority(before, after []store.GroupRef) store.Priority {
	member := store.User{Active: true, Doc: map[string]any{"active": true}}
	b, bErr := m.Plan(member, before)
	a, aErr := m.Plan(member, after)
	return ChangePriority(b, bErr, a, aErr)
}

// ReloadPriority is the priority of a configuration change from m to next
// for user u in groups: what the new mapping and group profiles do to the
// user's plan.
func (m *Mapper) ReloadPriority(next *Mapper, u store.User, groups []store.GroupRef) store.Priority {
	before, bErr := m.Plan(u, groups)
	after, aErr := next.Plan(u, groups)
	return ChangePriority(before, bErr, after, aErr)
}

var _ store.Prioritizer = (*Mapper)(nil)
