package gainsighttest

import (
	"fmt"
	"sort"
	"strings"
	"time"
	_ "time/tzdata" // Timezone values are checked against the IANA database on any host
)

// isStringField reports whether k is a services-dialect field holding one
// string.
func isStringField(k string) bool {
	switch k {
	case "FirstName", "LastName", "Name", "Email", "SFDCUserName", "SfdcUserId",
		"Title", "Timezone", "Locale", "Manager", "LicenseType", "SystemType", "CompanyID":
		return true
	}
	return false
}

// isSystemType reports whether v is an accepted SystemType.
func isSystemType(v string) bool {
	return v == "Internal" || v == "External" || v == "Guest Partner"
}

func isCustomField(name string) bool { return strings.HasSuffix(name, "__gc") && len(name) > 4 }

func isTrue(v any) bool { b, _ := v.(bool); return b }

func str(rec map[string]any, k string) string { s, _ := rec[k].(string); return s }

// cloneRecord deep-copies a record of JSON values.
func cloneRecord(in map[string]any) map[string]any {
	out := make(map[string]any, len(in))
	for k, v := range in {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return cloneRecord(t)
	case []any:
		c := make([]any, len(t))
		for i, e := range t {
			c[i] = cloneValue(e)
		}
		return c
	case []string:
		c := make([]any, len(t))
		for i, e := range t {
			c[i] = e
		}
		return c
	}
	return v
}

// recordError is why one record of a call was refused.
type recordError struct {
	code string
	msg  string
}

func (e *recordError) Error() string { return e.code + ": " + e.msg }

func invalid(code, format string, args ...any) *recordError {
	return &recordError{code: code, msg: fmt.Sprintf(format, args...)}
}

// errorEntry is the data.errors[] element of a refused record: the
// identifying fields known of it, errorMessage and errorCode.
func errorEntry(rec map[string]any, gsid string, e *recordError) map[string]any {
	m := map[string]any{"errorMessage": e.msg, "errorCode": e.code}
	for _, k := range []string{"Email", "SFDCUserName"} {
		if v, ok := rec[k].(string); ok && v != "" {
			m[k] = v
		}
	}
	if gsid == "" {
		gsid, _ = rec["Gsid"].(string)
	}
	if gsid != "" {
		m["Gsid"] = gsid
	}
	return m
}

// change is one record's write: the user it applies to (nil for a create)
// and the fields it sends.
type change struct {
	target *user
	in     map[string]any
	// appendBundles adds permissionBundles to the user's instead of
	// replacing them.
	appendBundles bool
	// code is the error code of validation failures (GU_2401 on create,
	// GU_2402 on update).
	code string
}

// merge validates c and returns the record the user would have after it.
// Nothing is stored.
func (s *Server) merge(c change) (map[string]any, *recordError) {
	code := c.code
	var rec map[string]any
	gsid := ""
	if c.target == nil {
		rec = map[string]any{"IsActiveUser": true, "SystemType": "Internal"}
	} else {
		rec = cloneRecord(c.target.rec)
		gsid = str(rec, "Gsid")
	}
	keys := make([]string, 0, len(c.in))
	for k := range c.in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := c.in[k]
		switch {
		case k == "Gsid":
			if c.target == nil {
				return nil, invalid(code, "Gsid is read-only and cannot be set on create")
			}
			if g, ok := v.(string); !ok || g != gsid {
				return nil, invalid(code, "Gsid %v cannot be changed", v)
			}
		case k == "IsSuperAdmin":
			return nil, invalid(code, "You cannot create and update the Super admin field through User Management APIs")
		case k == "IsActiveUser":
			b, ok := v.(bool)
			if !ok {
				return nil, invalid(code, "IsActiveUser must be a boolean")
			}
			if c.target != nil && b != isTrue(rec["IsActiveUser"]) {
				return nil, invalid(code, "IsActiveUser cannot be changed by an update; use the status endpoint")
			}
			rec[k] = b
		case isStringField(k):
			switch t := v.(type) {
			case nil:
				delete(rec, k)
			case string:
				if t == "" {
					delete(rec, k)
				} else {
					rec[k] = t
				}
			default:
				return nil, invalid(code, "%s must be a string", k)
			}
		case k == "permissionBundles":
			names, err := stringList(v)
			if err != nil {
				return nil, invalid(code, "permissionBundles: %v", err)
			}
			for _, n := range names {
				if !contains(s.tenant.PermissionBundles, n) {
					return nil, invalid(code, "permission bundle %q does not exist", n)
				}
			}
			if c.appendBundles {
				have, _ := stringList(rec[k])
				for _, n := range names {
					if !contains(have, n) {
						have = append(have, n)
					}
				}
				names = have
			}
			rec[k] = toAnyList(names)
		case isCustomField(k):
			typ, known := s.tenant.CustomFields[k]
			if !known {
				return nil, invalid(code, "custom field %s does not exist", k)
			}
			if v == nil {
				delete(rec, k)
				continue
			}
			norm, err := customValue(typ, v)
			if err != nil {
				return nil, invalid(code, "custom field %s (%s): %v", k, typ, err)
			}
			rec[k] = norm
		default:
			return nil, invalid(code, "unknown field %s", k)
		}
	}
	if err := s.checkRecord(rec, gsid, code); err != nil {
		return nil, err
	}
	return rec, nil
}

// checkRecord validates a whole record as it would be stored.
func (s *Server) checkRecord(rec map[string]any, gsid, code string) *recordError {
	email, sfdc := str(rec, "Email"), str(rec, "SFDCUserName")
	switch {
	case email == "":
		return invalid(code, "Email is required")
	case !strings.Contains(email, "@"):
		return invalid(code, "Email %q is not a valid email address", email)
	case sfdc == "":
		return invalid(code, "SFDCUserName is required")
	case str(rec, "Name") == "" && str(rec, "FirstName") == "" && str(rec, "LastName") == "":
		return invalid(code, "a name is required (Name, or FirstName and LastName)")
	}
	if str(rec, "Name") == "" {
		rec["Name"] = strings.TrimSpace(str(rec, "FirstName") + " " + str(rec, "LastName"))
	}
	if lt := str(rec, "LicenseType"); lt != "" && !contains(s.tenant.LicenseTypes, lt) {
		return invalid(code, "LicenseType %q does not exist", lt)
	}
	st := str(rec, "SystemType")
	if st != "" && !isSystemType(st) {
		return invalid(code, "SystemType %q must be Internal, External or Guest Partner", st)
	}
	if (st == "External" || str(rec, "LicenseType") == "External") && str(rec, "CompanyID") == "" {
		return invalid(code, "CompanyID is required for external users")
	}
	for field, refused := range s.tenant.Refuse {
		if v := str(rec, field); v != "" && contains(refused, v) {
			return invalid(code, "%s %q is refused by a validation rule of this tenant", field, v)
		}
	}
	if tz := str(rec, "Timezone"); tz != "" {
		if _, err := time.LoadLocation(tz); err != nil || tz == "Local" {
			return invalid(code, "Timezone %q is not an IANA time zone", tz)
		}
	}
	if m := str(rec, "Manager"); m != "" {
		if m == gsid {
			return invalid(codeSelfManager, "a user cannot be their own manager")
		}
		if _, ok := s.byGsid[m]; !ok {
			return invalid(code, "Manager %q is not a user of this tenant", m)
		}
	}
	if isTrue(rec["IsSuperAdmin"]) && isTrue(rec["IsActiveUser"]) && str(rec, "LicenseType") != "Full" {
		return invalid(code, "an active super admin always has the Full license")
	}
	for _, k := range []struct{ field, key, value string }{
		{"Email", "e:" + foldKey(email), email}, {"SFDCUserName", "s:" + foldKey(sfdc), sfdc},
	} {
		for _, u := range s.byKey[k.key] {
			if str(u.rec, "Gsid") != gsid {
				return invalid(codeDuplicate, "duplicate: a user with %s %q already exists (%s)", k.field, k.value, str(u.rec, "Gsid"))
			}
		}
	}
	return nil
}

// setActive activates or deactivates u, enforcing the license rules.
func (s *Server) setActive(u *user, active bool, code string) *recordError {
	if !active {
		if isTrue(u.rec["IsActiveUser"]) {
			u.lastLicense = str(u.rec, "LicenseType")
		}
		u.rec["IsActiveUser"] = false
		delete(u.rec, "LicenseType")
		return nil
	}
	if isTrue(u.rec["IsActiveUser"]) {
		return nil
	}
	if u.lastLicense == "External" || str(u.rec, "SystemType") == "External" || str(u.rec, "LicenseType") == "External" {
		return invalid(code, "an inactive External user cannot be reactivated")
	}
	u.rec["IsActiveUser"] = true
	if isTrue(u.rec["IsSuperAdmin"]) {
		u.rec["LicenseType"] = "Full"
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func toAnyList(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// stringList reads a JSON list of strings; nil reads as empty.
func stringList(v any) ([]string, error) {
	switch t := v.(type) {
	case nil:
		return nil, nil
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("%v is not a string", e)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("must be a list of strings")
}

// customValue checks v against a custom field type and returns it as stored.
// A multiPicklist takes a list of strings or one string of values separated
// by ";".
func customValue(typ string, v any) (any, error) {
	switch typ {
	case FieldBoolean:
		if _, ok := v.(bool); !ok {
			return nil, fmt.Errorf("%v is not a boolean", v)
		}
	case FieldNumber:
		if _, ok := v.(float64); !ok {
			return nil, fmt.Errorf("%v is not a number", v)
		}
	case FieldString, FieldDropdown:
		if _, ok := v.(string); !ok {
			return nil, fmt.Errorf("%v is not a string", v)
		}
	case FieldMultiPicklist:
		if s, ok := v.(string); ok {
			var parts []string
			for _, p := range strings.Split(s, ";") {
				if p = strings.TrimSpace(p); p != "" {
					parts = append(parts, p)
				}
			}
			return toAnyList(parts), nil
		}
		list, err := stringList(v)
		if err != nil {
			return nil, err
		}
		return toAnyList(list), nil
	}
	return v, nil
}
