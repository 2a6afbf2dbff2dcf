package translate

import (
	"sort"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight/record"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/resolve"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// Explanation says why a user gets the Gainsight record it gets, for
// `scim-bridge explain` and the admin endpoint.
type Explanation struct {
	UserID   string `json:"userId"`
	UserName string `json:"userName"`
	// Active is the status the user should have; InactiveReason says why
	// it is false.
	Active         bool   `json:"active"`
	InactiveReason string `json:"inactiveReason,omitempty"`
	// SuperAdmin is resolved but never pushed (Gainsight's API cannot set
	// it).
	SuperAdmin bool   `json:"superAdmin"`
	ManagerID  string `json:"managerId,omitempty"`
	// Groups are all the user's groups, profiled or not.
	Groups []ExplainedGroup `json:"groups"`
	// Attributes are the effective attributes in name order: every field
	// of Record plus SuperAdmin.
	Attributes []ExplainedAttribute `json:"attributes"`
	// Record is the desired Gainsight record (nil on a conflict).
	Record record.Record `json:"record,omitempty"`
	// Conflict is set when the user's groups cannot be resolved; the
	// attributes then leave out the conflicting field.
	Conflict *resolve.Conflict `json:"conflict,omitempty"`
}

// ExplainedGroup is one of the user's groups.
type ExplainedGroup struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	ExternalID  string `json:"externalId,omitempty"`
	Profiled    bool   `json:"profiled"`
	Profile     string `json:"profile,omitempty"` // the matching profile's name
}

// ExplainedAttribute is one effective attribute and where it came from:
// the names of the groups that produced it, "user" when the user's own
// SCIM attributes did, "default" when the configured defaults did.
type ExplainedAttribute struct {
	Name    string   `json:"name"`
	Value   any      `json:"value"`
	Sources []string `json:"sources"`
}

// Explain computes the user's effective attributes with their sources. A
// resolution conflict is reported in Explanation.Conflict, not as an
// error; the error is only for a user that cannot be mapped at all (an
// unparsable active attribute).
func (m *Mapper) Explain(u store.User, groups []store.GroupRef) (Explanation, error) {
	b, err := m.build(u, groups)
	if err != nil {
		return Explanation{}, err
	}
	ex := Explanation{
		UserID:         u.ID,
		UserName:       u.UserName,
		Active:         b.plan.Active,
		InactiveReason: b.inactive,
		SuperAdmin:     b.plan.SuperAdmin,
		ManagerID:      b.plan.ManagerID,
		Groups:         b.groups,
		Conflict:       b.conflict,
		Record:         b.plan.Record,
	}
	if ex.Groups == nil {
		ex.Groups = []ExplainedGroup{}
	}
	if b.conflict != nil {
		ex.Record = nil
	}
	resolvedKey := map[string]string{
		FieldSuperAdmin:        resolve.KeySuperAdmin,
		FieldLicenseType:       resolve.KeyLicenseType,
		FieldPermissionBundles: resolve.KeyRoles,
	}
	sourcesOf := func(name string) []string {
		key, ok := resolvedKey[name]
		if !ok {
			key = name
		}
		if _, fromDoc := b.origins[name]; fromDoc {
			return append([]string(nil), b.origins[name]...)
		}
		var s []string
		s = append(s, b.res.Sources[key]...)
		if b.res.Own[key] {
			s = append(s, originUser)
		}
		if b.res.Defaulted[key] {
			s = append(s, originDefault)
		}
		if len(s) == 0 {
			s = []string{originDefault}
		}
		return s
	}
	for name, v := range b.plan.Record {
		ex.Attributes = append(ex.Attributes, ExplainedAttribute{Name: name, Value: v, Sources: sourcesOf(name)})
	}
	ex.Attributes = append(ex.Attributes, ExplainedAttribute{Name: FieldSuperAdmin, Value: b.plan.SuperAdmin, Sources: sourcesOf(FieldSuperAdmin)})
	sort.Slice(ex.Attributes, func(i, j int) bool { return ex.Attributes[i].Name < ex.Attributes[j].Name })
	return ex, nil
}
