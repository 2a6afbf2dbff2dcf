package config

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
)

// CustomField returns the configured custom field with the given name.
func (c *Config) CustomField(name string) (CustomField, bool) {
	for _, f := range c.CustomFields {
		if f.Name == name {
			return f, true
		}
	}
	return CustomField{}, false
}

// LicenseRank returns the priority of a license type: its index in
// licenses.priority (higher wins), -1 for External (free; below every
// listed type unless listed itself), and ok=false for an unknown type.
func (c *Config) LicenseRank(licenseType string) (rank int, ok bool) {
	for i, lt := range c.Licenses.Priority {
		if lt == licenseType {
			return i, true
		}
	}
	if licenseType == LicenseExternal {
		return -1, true
	}
	return 0, false
}

// ProfileFor returns the group profile that applies to a pushed group with
// the given displayName and externalId. A profile's externalId matches
// exactly and takes precedence; displayName matches case-insensitively
// (SCIM's Group displayName is not case-exact). Validate guarantees that no
// two profiles share a matcher.
func (c *Config) ProfileFor(displayName, externalID string) (GroupProfile, bool) {
	if externalID != "" {
		for _, g := range c.Groups {
			if g.ExternalID == externalID {
				return g, true
			}
		}
	}
	if displayName != "" {
		for _, g := range c.Groups {
			if g.DisplayName != "" && strings.EqualFold(g.DisplayName, displayName) {
				return g, true
			}
		}
	}
	return GroupProfile{}, false
}

// GroupRef names pushed groups by one profile matcher: the groups whose
// displayName equals DisplayName (case-insensitively), or whose externalId
// equals ExternalID. Exactly one of the two is set.
type GroupRef struct {
	DisplayName string
	ExternalID  string
}

// DiffProfiles compares two profile sets (typically before and after a
// config reload) and returns the matchers whose profile was added, removed
// or changed its attributes, sorted, externalIds first. Every pushed group
// matched by one of them may have a different effective profile now, so
// its members must be recomputed; groups matched by none are unaffected.
// A profile's name is not an attribute: renaming it changes nothing.
func DiffProfiles(old, new []GroupProfile) []GroupRef {
	before := profileIndex(old)
	after := profileIndex(new)
	var out []GroupRef
	for k, b := range before {
		if a, ok := after[k]; !ok || a.attrs != b.attrs {
			out = append(out, b.ref)
		}
	}
	for k, a := range after {
		if _, ok := before[k]; !ok {
			out = append(out, a.ref)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if (a.ExternalID != "") != (b.ExternalID != "") {
			return a.ExternalID != ""
		}
		if a.ExternalID != b.ExternalID {
			return a.ExternalID < b.ExternalID
		}
		return strings.ToLower(a.DisplayName) < strings.ToLower(b.DisplayName)
	})
	return out
}

// ProfilesEqual reports whether two profile sets give every pushed group
// the same attributes.
func ProfilesEqual(a, b []GroupProfile) bool { return len(DiffProfiles(a, b)) == 0 }

type indexedProfile struct {
	ref   GroupRef
	attrs string
}

// profileIndex maps each matcher of a profile set (displayNames in lower
// case) to the matcher as written and its profile's attribute key. The
// first profile wins, as in ProfileFor.
func profileIndex(profiles []GroupProfile) map[string]indexedProfile {
	idx := map[string]indexedProfile{}
	for _, g := range profiles {
		attrs := profileAttrKey(g)
		if g.ExternalID != "" {
			k := "e:" + g.ExternalID
			if _, ok := idx[k]; !ok {
				idx[k] = indexedProfile{GroupRef{ExternalID: g.ExternalID}, attrs}
			}
		}
		if g.DisplayName != "" {
			k := "d:" + strings.ToLower(g.DisplayName)
			if _, ok := idx[k]; !ok {
				idx[k] = indexedProfile{GroupRef{DisplayName: g.DisplayName}, attrs}
			}
		}
	}
	return idx
}

// profileAttrKey is a canonical encoding of the attributes a profile sets:
// equal keys mean identical attribute sets. Roles and multiPicklist values
// compare as sets.
func profileAttrKey(g GroupProfile) string {
	fields := make(map[string]any, len(g.Fields))
	for k, v := range g.Fields {
		if l, ok := stringList(v); ok {
			fields[k] = sortedSet(l)
			continue
		}
		fields[k] = v
	}
	attrs := struct {
		SuperAdmin  *bool          `json:"s,omitempty"`
		LicenseType string         `json:"l,omitempty"`
		Roles       []string       `json:"r,omitempty"`
		Fields      map[string]any `json:"f,omitempty"`
	}{g.SuperAdmin, g.LicenseType, sortedSet(g.Roles), fields}
	b, err := json.Marshal(attrs)
	if err != nil {
		// Values that cannot be encoded are not valid field values;
		// Validate reports them. Keep such profiles distinct.
		return "invalid:" + g.DisplayName + "\x00" + g.ExternalID
	}
	return string(b)
}

func sortedSet(l []string) []string {
	if len(l) == 0 {
		return nil
	}
	seen := map[string]bool{}
	out := make([]string, 0, len(l))
	for _, s := range l {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// NeedsFullResync reports whether a new configuration changes the desired
// Gainsight record of users regardless of their groups — defaults, license
// priority, custom fields, mapping, deprovisioning or the users-v1 default
// role — so that a reload must mark every user dirty rather than only the
// members of the groups DiffProfiles returns.
func NeedsFullResync(old, new *Config) bool {
	return !reflect.DeepEqual(old.Defaults, new.Defaults) ||
		!reflect.DeepEqual(old.Licenses, new.Licenses) ||
		!reflect.DeepEqual(old.CustomFields, new.CustomFields) ||
		!reflect.DeepEqual(old.Mapping, new.Mapping) ||
		old.Deprovision != new.Deprovision ||
		old.Gainsight.DefaultRole != new.Gainsight.DefaultRole
}
