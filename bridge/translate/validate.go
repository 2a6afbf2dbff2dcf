package translate

import (
	"errors"
	"fmt"
	"net/mail"
	"sort"
	"strconv"
	"strings"
	"time"
	// Embedded zone data: timezone validation must not depend on the
	// image the bridge runs in (distroless images have no zoneinfo).
	_ "time/tzdata"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/resolve"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

// FieldError is a user attribute the bridge cannot accept. The SCIM front
// end answers it with 400 invalidValue naming Attribute.
type FieldError struct {
	// Attribute is the SCIM attribute path, e.g. "timezone", "roles" or
	// "urn:ietf:params:scim:schemas:extension:gainsight:2.0:User:Region__gc".
	Attribute string `json:"attribute"`
	Message   string `json:"message"`
}

func (e *FieldError) Error() string { return e.Attribute + ": " + e.Message }

// FieldErrors returns every *FieldError in err, whether err is one or an
// errors.Join of several.
func FieldErrors(err error) []*FieldError {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []*FieldError
		for _, e := range j.Unwrap() {
			out = append(out, FieldErrors(e)...)
		}
		return out
	}
	if fe, ok := err.(*FieldError); ok {
		return []*FieldError{fe}
	}
	return FieldErrors(errors.Unwrap(err))
}

// ValidateUser checks what the bridge can check locally before a SCIM
// write is accepted, so the IdP gets a 400 now rather than a failed sync
// later: active is a boolean; the value that becomes Gainsight's Email (the
// primary or work email, or userName when there is none or
// mapping.userNameField is Email, or a mapped attribute) is an email
// address; the license type is configured (priority list
// or External); every permission bundle (roles[].value) is known when
// `roles:` is configured; the timezone is an IANA name ("Local" is not);
// custom field values fit their type and allowed values, whether they come
// from the Gainsight extension or a configured mapping; the extension holds
// no unknown "…__gc" field and no IsSuperAdmin (Gainsight's API cannot set
// it). userName presence is the SCIM layer's concern.
//
// It returns nil, one *FieldError, or several joined with errors.Join,
// ordered by attribute; FieldErrors unpacks both forms.
func (m *Mapper) ValidateUser(doc map[string]any) error {
	doc = normaliseDoc(doc)
	var errs []*FieldError
	add := func(attr, format string, args ...any) {
		errs = append(errs, &FieldError{Attribute: attr, Message: fmt.Sprintf(format, args...)})
	}

	if _, err := parseActive(doc); err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			errs = append(errs, fe)
		}
	}

	// Timezone: the built-in path unless a mapping replaces it, plus any
	// mapping that targets Timezone.
	var tzPaths []attrPath
	for _, mp := range m.builtin {
		if mp.target == FieldTimezone {
			tzPaths = append(tzPaths, mp.path)
		}
	}
	for _, mp := range m.mappings {
		if mp.target == FieldTimezone {
			tzPaths = append(tzPaths, mp.path)
		}
	}
	for _, p := range tzPaths {
		v, ok := p.lookup(doc)
		if !ok {
			continue
		}
		s, isStr := v.(string)
		if !isStr {
			add(p.raw, "must be a string naming an IANA time zone")
			continue
		}
		if msg := checkTimezone(s); msg != "" {
			add(p.raw, "%s", msg)
		}
	}

	// Email: Gainsight refuses a record whose Email is not an address, so
	// the value that will be Email is checked now, whichever attribute
	// the mapping takes it from.
	if src := m.emailSource(doc); src.value != "" && !isEmailAddress(src.value) {
		add(src.attr, "%q is not an email address; %s", src.value, src.why)
	}

	// Permission bundles.
	if !m.overridden[FieldPermissionBundles] {
		m.checkRoles("roles", roleValues(doc), add)
	}

	// Gainsight extension.
	if ext, ok := getCI(doc, GainsightURN); ok && ext != nil {
		em, isMap := ext.(map[string]any)
		if !isMap {
			add(GainsightURN, "must be an object")
		}
		for k, v := range em {
			attr := GainsightURN + ":" + k
			switch {
			case strings.EqualFold(k, "IsSuperAdmin"):
				add(attr, "cannot be set: Gainsight's User Management API does not allow it; grant super admin with a group profile")
			case strings.EqualFold(k, FieldLicenseType):
				m.checkLicense(attr, v, add)
			case isCustom(k):
				name, known := m.fieldsLower[strings.ToLower(k)]
				if !known {
					add(attr, "unknown custom field (not in customFields)")
					continue
				}
				if msg := m.checkField(name, v); msg != "" {
					add(attr, "%s", msg)
				}
			}
		}
	}

	// Configured mappings into resolvable attributes.
	for _, mp := range m.mappings {
		v, ok := mp.path.lookup(doc)
		if !ok {
			continue
		}
		switch {
		case mp.target == FieldLicenseType:
			m.checkLicense(mp.path.raw, scalarOrSelf(v), add)
		case mp.target == FieldPermissionBundles:
			vals, ok := resolve.AsStrings(unwrapValues(v))
			if !ok {
				add(mp.path.raw, "must be a list of permission bundle names")
				continue
			}
			m.checkRoles(mp.path.raw, vals, add)
		case isCustom(mp.target):
			if _, known := m.fields[mp.target]; !known {
				continue // untyped: any value is passed on
			}
			if msg := m.checkField(mp.target, unwrapValues(v)); msg != "" {
				add(mp.path.raw, "%s (mapped to %s)", msg, mp.target)
			}
		}
	}

	if len(errs) == 0 {
		return nil
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Attribute < errs[j].Attribute })
	if len(errs) == 1 {
		return errs[0]
	}
	joined := make([]error, len(errs))
	for i, e := range errs {
		joined[i] = e
	}
	return errors.Join(joined...)
}

// emailOrigin is the attribute whose value becomes a record's Email.
type emailOrigin struct {
	attr, value string
	why         string // why that value is sent as Email
}

// emailSource returns where build takes the record's Email from: a
// configured mapping to Email; else userName when mapping.userNameField is
// Email; else the primary or work email; else userName.
func (m *Mapper) emailSource(doc map[string]any) emailOrigin {
	for _, mp := range m.mappings {
		if mp.target == FieldEmail {
			v, _ := mp.path.lookup(doc)
			return emailOrigin{mp.path.raw, scalarString(v), "it is mapped to Gainsight's Email"}
		}
	}
	userName := stringAt(doc, "userName")
	if m.userNameField == FieldEmail {
		return emailOrigin{"userName", userName, "mapping.userNameField sends it to Gainsight as Email"}
	}
	if e := pickEmail(doc); e != "" {
		return emailOrigin{"emails.value", e, "it is the email Gainsight gets"}
	}
	return emailOrigin{"userName", userName, "the user has no work email, so Gainsight gets the userName as Email"}
}

// isEmailAddress reports whether s is a bare address as net/mail reads
// one: no display name, angle brackets, comments or surrounding spaces.
func isEmailAddress(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Name == "" && a.Address == s
}

func scalarOrSelf(v any) any {
	if m, ok := v.(map[string]any); ok {
		return mustGet(m, "value")
	}
	return v
}

func checkTimezone(s string) string {
	if s == "" {
		return ""
	}
	if strings.EqualFold(s, "Local") {
		return `"Local" is not a time zone name; use an IANA name such as "Europe/Berlin"`
	}
	if _, err := time.LoadLocation(s); err != nil {
		return fmt.Sprintf("%q is not an IANA time zone name", s)
	}
	return ""
}

func (m *Mapper) checkLicense(attr string, v any, add func(string, string, ...any)) {
	if v == nil {
		return
	}
	s, ok := v.(string)
	if !ok {
		add(attr, "must be a string")
		return
	}
	if s == "" || m.licenses[s] {
		return
	}
	add(attr, "%q is not a configured license type (one of %s)", s, quoted(m.licenseList()))
}

// LicenseTypes returns the license types ValidateUser accepts, in priority
// order (low to high), External included.
func (m *Mapper) LicenseTypes() []string { return m.licenseList() }

// PermissionBundles returns the permission bundles ValidateUser accepts as
// roles[].value, in configured order; nil when it does not check them (no
// roles are configured, or a mapping takes permission bundles from another
// attribute).
func (m *Mapper) PermissionBundles() []string {
	if m.roles == nil || m.overridden[FieldPermissionBundles] {
		return nil
	}
	return append([]string(nil), m.roleList...)
}

func (m *Mapper) licenseList() []string {
	out := append([]string(nil), m.priority...)
	for _, l := range out {
		if l == licenseExternal {
			return out
		}
	}
	return append(out, licenseExternal)
}

func (m *Mapper) checkRoles(attr string, roles []string, add func(string, string, ...any)) {
	if m.roles == nil {
		return
	}
	var unknown []string
	for _, r := range roles {
		if !m.roles[r] {
			unknown = append(unknown, r)
		}
	}
	if len(unknown) == 1 {
		add(attr, "unknown permission bundle %q", unknown[0])
	} else if len(unknown) > 1 {
		add(attr, "unknown permission bundles %s", quoted(unknown))
	}
}

// checkField returns why v does not fit the configured custom field, or "".
// null always fits (it leaves the field unset).
func (m *Mapper) checkField(name string, v any) string {
	if v == nil {
		return ""
	}
	f := m.fields[name]
	switch f.Type {
	case config.FieldBoolean:
		if _, ok := resolve.AsBool(v); !ok {
			return fmt.Sprintf("%s is a boolean field; %s is not a boolean", name, describe(v))
		}
	case config.FieldMultiPicklist:
		vals, ok := resolve.AsStrings(v)
		if !ok {
			return fmt.Sprintf("%s is a multi-picklist; %s is not a list of strings", name, describe(v))
		}
		for _, s := range vals {
			if !allowed(f.Values, s) {
				return fmt.Sprintf("%q is not an allowed value of %s (one of %s)", s, name, quoted(f.Values))
			}
		}
	case config.FieldDropdown:
		s, ok := v.(string)
		if !ok {
			return fmt.Sprintf("%s is a dropdown; %s is not a string", name, describe(v))
		}
		if !allowed(f.Values, s) {
			return fmt.Sprintf("%q is not an allowed value of %s (one of %s)", s, name, quoted(f.Values))
		}
	case config.FieldString:
		switch v.(type) {
		case string, float64, int, int64:
		default:
			return fmt.Sprintf("%s is a string field; %s is not a string", name, describe(v))
		}
	case config.FieldNumber:
		s, ok := resolve.AsString(v)
		_, isBool := v.(bool)
		if !ok || isBool {
			return fmt.Sprintf("%s is a number field; %s is not a number", name, describe(v))
		}
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			return fmt.Sprintf("%s is a number field; %q is not a number", name, s)
		}
	}
	return ""
}

func allowed(values []string, s string) bool {
	if len(values) == 0 {
		return true
	}
	for _, v := range values {
		if v == s {
			return true
		}
	}
	return false
}

func describe(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case map[string]any:
		return "an object"
	case []any, []string:
		return "a list"
	}
	return fmt.Sprintf("%v", v)
}

func quoted(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}
