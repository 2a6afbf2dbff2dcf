package resolve

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

// Attribute keys used in Result.Sources, Result.Own and Result.Defaulted
// besides custom field names.
const (
	KeySuperAdmin  = "superAdmin"
	KeyLicenseType = "licenseType"
	KeyRoles       = "roles"
)

// DefaultTopLicense is the license a super admin gets when no priority list
// is configured.
const DefaultTopLicense = "Full"

// Attributes are the resolvable attributes of a user.
type Attributes struct {
	SuperAdmin  *bool
	LicenseType string
	Roles       []string
	// Fields maps a custom field name to its value: bool for boolean
	// fields, []string for multi-picklists, string for dropdown and string
	// fields (numbers are compared as their decimal text).
	Fields map[string]any
}

// Group is one profiled group a user is in.
type Group struct {
	Name    string // the pushed group's displayName, for messages
	Profile config.GroupProfile
}

// Input is everything resolution depends on.
type Input struct {
	// Own holds the attributes set on the user itself by the IdP.
	Own    Attributes
	Groups []Group
	// Defaults apply to attributes nobody set.
	Defaults config.Defaults
	// Priority lists license types from lowest to highest.
	Priority []string
	// FieldTypes maps custom field names to config.Field* types. A field
	// missing here is typed by its value: bool → boolean, list →
	// multiPicklist, anything else → string.
	FieldTypes map[string]string
}

// Result is a user's effective attributes.
type Result struct {
	// Attributes are the effective values; SuperAdmin is never nil and
	// LicenseType is "" only when nobody, not even the defaults, set one.
	Attributes
	// Sources maps an attribute key (KeySuperAdmin, KeyLicenseType,
	// KeyRoles or a custom field name) to the names of the groups that
	// produced its effective value, in group order. Absent when no group
	// contributed.
	Sources map[string][]string
	// Own lists the attribute keys to whose effective value the user's own
	// attributes contributed.
	Own map[string]bool
	// Defaulted lists the attribute keys whose value came from the
	// defaults.
	Defaulted map[string]bool
	// Profiled is true when the user is in at least one profiled group.
	Profiled bool
}

// Conflict is a dropdown or string field to which two groups give different
// values.
type Conflict struct {
	Field  string   `json:"field"`
	Values []string `json:"values"` // the distinct values, in group order
	Groups []string `json:"groups"` // every group that sets the field, in group order
}

// Error says which groups set which values, e.g.
// `Region__gc: groups "East" and "West" set different values "east", "west"`.
func (c *Conflict) Error() string {
	return fmt.Sprintf("%s: groups %s set different values %s",
		c.Field, quoteList(c.Groups, " and "), quoteList(c.Values, ", "))
}

func quoteList(items []string, last string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = strconv.Quote(s)
	}
	switch len(q) {
	case 0:
		return ""
	case 1:
		return q[0]
	default:
		return strings.Join(q[:len(q)-1], ", ") + last + q[len(q)-1]
	}
}

// Resolve computes the effective attributes. The error, if any, is a
// *Conflict (the first conflicting field by name); the Result is then still
// filled for every other attribute so that it can be explained, with the
// conflicting fields left out.
func Resolve(in Input) (Result, error) {
	groups := sortedGroups(in.Groups)
	res := Result{
		Sources:   map[string][]string{},
		Own:       map[string]bool{},
		Defaulted: map[string]bool{},
		Profiled:  len(groups) > 0,
	}

	resolveSuperAdmin(&res, in.Own, groups)
	resolveLicense(&res, in, groups)
	resolveRoles(&res, in, groups)
	conflict := resolveFields(&res, in, groups)

	for k, v := range res.Sources {
		if len(v) == 0 {
			delete(res.Sources, k)
		}
	}
	if conflict != nil {
		return res, conflict
	}
	return res, nil
}

// ResolveGroups reports the first conflict (as a *Conflict) among the
// profiles of groups alone, or nil. It is the check run before a membership
// change is accepted.
func ResolveGroups(groups []Group, priority []string, fieldTypes map[string]string) error {
	_, err := Resolve(Input{Groups: groups, Priority: priority, FieldTypes: fieldTypes})
	return err
}

func sortedGroups(in []Group) []Group {
	out := append([]Group(nil), in...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := strings.ToLower(out[i].Name), strings.ToLower(out[j].Name)
		if a != b {
			return a < b
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func resolveSuperAdmin(res *Result, own Attributes, groups []Group) {
	var trueGroups []string
	for _, g := range groups {
		if g.Profile.SuperAdmin != nil && *g.Profile.SuperAdmin {
			trueGroups = append(trueGroups, g.Name)
		}
	}
	ownTrue := own.SuperAdmin != nil && *own.SuperAdmin
	v := ownTrue || len(trueGroups) > 0
	res.SuperAdmin = &v
	if ownTrue {
		res.Own[KeySuperAdmin] = true
	}
	res.Sources[KeySuperAdmin] = trueGroups
	if !v {
		// Explicitly false somewhere: say who.
		var falseGroups []string
		for _, g := range groups {
			if g.Profile.SuperAdmin != nil {
				falseGroups = append(falseGroups, g.Name)
			}
		}
		res.Sources[KeySuperAdmin] = falseGroups
		if own.SuperAdmin != nil {
			res.Own[KeySuperAdmin] = true
		}
	}
}

func rank(priority []string, license string) int {
	for i, p := range priority {
		if p == license {
			return i
		}
	}
	return -1
}

func topLicense(priority []string) string {
	if len(priority) == 0 {
		return DefaultTopLicense
	}
	return priority[len(priority)-1]
}

func resolveLicense(res *Result, in Input, groups []Group) {
	if *res.SuperAdmin {
		// Gainsight's own rule: an active super admin always has Full.
		res.LicenseType = topLicense(in.Priority)
		res.Sources[KeyLicenseType] = res.Sources[KeySuperAdmin]
		if res.Own[KeySuperAdmin] {
			res.Own[KeyLicenseType] = true
		}
		return
	}
	best, bestRank := "", -2
	consider := func(l string) {
		if l == "" {
			return
		}
		// Ties keep the first candidate; the user's own value comes first.
		if r := rank(in.Priority, l); r > bestRank {
			best, bestRank = l, r
		}
	}
	consider(in.Own.LicenseType)
	for _, g := range groups {
		consider(g.Profile.LicenseType)
	}
	if best == "" {
		res.LicenseType = in.Defaults.LicenseType
		if res.LicenseType != "" {
			res.Defaulted[KeyLicenseType] = true
		}
		return
	}
	res.LicenseType = best
	if in.Own.LicenseType == best {
		res.Own[KeyLicenseType] = true
	}
	for _, g := range groups {
		if g.Profile.LicenseType == best {
			res.Sources[KeyLicenseType] = append(res.Sources[KeyLicenseType], g.Name)
		}
	}
}

// union appends the values of add not yet in out (keeping first-appearance
// order) and reports whether it added any.
func union(out []string, seen map[string]bool, add []string) ([]string, bool) {
	added := false
	for _, v := range add {
		if v == "" || seen[v] {
			continue
		}
		seen[v] = true
		out = append(out, v)
		added = true
	}
	return out, added
}

func resolveRoles(res *Result, in Input, groups []Group) {
	seen := map[string]bool{}
	var roles []string
	var added bool
	roles, added = union(roles, seen, in.Own.Roles)
	if added {
		res.Own[KeyRoles] = true
	}
	for _, g := range groups {
		roles, added = union(roles, seen, g.Profile.Roles)
		if added {
			res.Sources[KeyRoles] = append(res.Sources[KeyRoles], g.Name)
		}
	}
	if len(roles) == 0 {
		roles, _ = union(nil, map[string]bool{}, in.Defaults.PermissionBundles)
		if len(roles) > 0 {
			res.Defaulted[KeyRoles] = true
		}
	}
	res.Roles = roles
}

// fieldType returns the configured type of a field, or one inferred from a
// value.
func fieldType(types map[string]string, name string, v any) string {
	if t, ok := types[name]; ok && t != "" {
		return t
	}
	switch v.(type) {
	case bool:
		return config.FieldBoolean
	case []string, []any:
		return config.FieldMultiPicklist
	default:
		return config.FieldString
	}
}

// AsBool interprets a field value as a boolean: a bool, or the strings
// "true"/"false" in any case.
func AsBool(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

// AsStrings interprets a field value as a list of strings: a []string, a
// []any of scalars, or a single scalar.
func AsStrings(v any) ([]string, bool) {
	switch x := v.(type) {
	case nil:
		return nil, true
	case []string:
		return x, true
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := AsString(e)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	default:
		s, ok := AsString(v)
		if !ok {
			return nil, false
		}
		return []string{s}, true
	}
}

// AsString interprets a scalar field value as text: strings as they are,
// numbers in their shortest decimal form, booleans as "true"/"false".
func AsString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32), true
	}
	return "", false
}

func resolveFields(res *Result, in Input, groups []Group) *Conflict {
	names := map[string]bool{}
	for n := range in.Own.Fields {
		names[n] = true
	}
	for _, g := range groups {
		for n := range g.Profile.Fields {
			names[n] = true
		}
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)

	var first *Conflict
	for _, name := range sorted {
		ownV, ownSet := in.Own.Fields[name]
		if ownSet && ownV == nil {
			ownSet = false
		}
		var sample any = ownV
		if !ownSet {
			for _, g := range groups {
				if v, ok := g.Profile.Fields[name]; ok && v != nil {
					sample = v
					break
				}
			}
		}
		var c *Conflict
		switch fieldType(in.FieldTypes, name, sample) {
		case config.FieldBoolean:
			resolveBoolField(res, name, ownV, ownSet, groups)
		case config.FieldMultiPicklist:
			resolveMultiField(res, name, ownV, ownSet, groups)
		default:
			c = resolveSingleField(res, name, ownV, ownSet, groups)
		}
		if c != nil && first == nil {
			first = c
		}
	}
	return first
}

func setField(res *Result, name string, v any) {
	if res.Fields == nil {
		res.Fields = map[string]any{}
	}
	res.Fields[name] = v
}

func resolveBoolField(res *Result, name string, ownV any, ownSet bool, groups []Group) {
	ownB, ownOK := false, false
	if ownSet {
		ownB, ownOK = AsBool(ownV)
	}
	var trueGroups, setGroups []string
	for _, g := range groups {
		v, ok := g.Profile.Fields[name]
		if !ok {
			continue
		}
		b, ok := AsBool(v)
		if !ok {
			continue
		}
		setGroups = append(setGroups, g.Name)
		if b {
			trueGroups = append(trueGroups, g.Name)
		}
	}
	if !ownOK && len(setGroups) == 0 {
		return
	}
	v := (ownOK && ownB) || len(trueGroups) > 0
	setField(res, name, v)
	if v {
		res.Sources[name] = trueGroups
		if ownOK && ownB {
			res.Own[name] = true
		}
		return
	}
	res.Sources[name] = setGroups
	if ownOK {
		res.Own[name] = true
	}
}

func resolveMultiField(res *Result, name string, ownV any, ownSet bool, groups []Group) {
	seen := map[string]bool{}
	var vals []string
	present := false
	if ownSet {
		if s, ok := AsStrings(ownV); ok {
			present = true
			var added bool
			vals, added = union(vals, seen, s)
			if added {
				res.Own[name] = true
			}
		}
	}
	for _, g := range groups {
		v, ok := g.Profile.Fields[name]
		if !ok {
			continue
		}
		s, ok := AsStrings(v)
		if !ok {
			continue
		}
		present = true
		var added bool
		vals, added = union(vals, seen, s)
		if added {
			res.Sources[name] = append(res.Sources[name], g.Name)
		}
	}
	if present {
		if vals == nil {
			vals = []string{}
		}
		setField(res, name, vals)
	}
}

func resolveSingleField(res *Result, name string, ownV any, ownSet bool, groups []Group) *Conflict {
	if ownSet {
		if s, ok := AsString(ownV); ok {
			setField(res, name, s)
			res.Own[name] = true
			return nil
		}
	}
	var values, setGroups []string
	for _, g := range groups {
		v, ok := g.Profile.Fields[name]
		if !ok {
			continue
		}
		s, ok := AsString(v)
		if !ok {
			continue
		}
		setGroups = append(setGroups, g.Name)
		if !contains(values, s) {
			values = append(values, s)
		}
	}
	switch len(values) {
	case 0:
		return nil
	case 1:
		setField(res, name, values[0])
		res.Sources[name] = setGroups
		return nil
	default:
		return &Conflict{Field: name, Values: values, Groups: setGroups}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
