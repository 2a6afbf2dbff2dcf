package translate

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight/record"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/resolve"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

// Gainsight record fields the mapping writes.
const (
	FieldFirstName         = "FirstName"
	FieldLastName          = "LastName"
	FieldName              = "Name"
	FieldEmail             = "Email"
	FieldSFDCUserName      = "SFDCUserName"
	FieldTitle             = "Title"
	FieldTimezone          = "Timezone"
	FieldLocale            = "Locale"
	FieldLicenseType       = "LicenseType"
	FieldSystemType        = "SystemType"
	FieldPermissionBundles = "permissionBundles"
	// FieldSuperAdmin is the key under which Plan.Sources and Explain
	// report super admin; it is never part of a Record.
	FieldSuperAdmin = "SuperAdmin"
)

// defaultPriority is the license priority used when the configuration
// leaves it empty; like the constants below it equals the config package's
// documented default, so a zero Config maps sensibly.
func defaultPriority() []string {
	return []string{"Internal_Collaborator", "Viewer", "Viewer_Analytics", "Full"}
}

const (
	defaultUserNameField  = FieldSFDCUserName
	defaultLicenseType    = "Viewer"
	defaultSystemType     = "Internal"
	licenseExternal       = "External"
	deprovisionDeactivate = "deactivate"
)

// unmappable says why a record field may not be a mapping target ("" when
// it may): it is a key, read-only, or managed through its own channel
// (status endpoint, manager resolution).
func unmappable(field string) string {
	switch strings.ToLower(field) {
	case "gsid":
		return "Gsid is assigned by Gainsight"
	case "manager":
		return "Manager is resolved from the enterprise manager by the sync engine"
	case "isactiveuser":
		return "IsActiveUser follows the SCIM active attribute"
	case "issuperadmin":
		return "IsSuperAdmin cannot be set through Gainsight's User Management API"
	}
	return ""
}

// defaultMapping is the built-in SCIM → Gainsight mapping of simple
// attributes (userName, emails, roles and the Name fallback are handled in
// code). A configured mapping with the same Gainsight target replaces the
// row.
func defaultMapping() []config.FieldMapping {
	return []config.FieldMapping{
		{SCIM: "name.givenName", Gainsight: FieldFirstName},
		{SCIM: "name.familyName", Gainsight: FieldLastName},
		{SCIM: "displayName", Gainsight: FieldName},
		{SCIM: "title", Gainsight: FieldTitle},
		{SCIM: "timezone", Gainsight: FieldTimezone},
		{SCIM: "locale", Gainsight: FieldLocale},
	}
}

type mapping struct {
	path   attrPath
	target string
}

// Mapper turns stored SCIM users into the Gainsight records they should
// have. It is immutable and safe for concurrent use; build a new one when
// the configuration is reloaded.
type Mapper struct {
	userNameField        string
	priority             []string
	licenses             map[string]bool
	roles                map[string]bool // nil: permission bundles are not checked
	roleList             []string        // the configured roles, in order
	fields               map[string]config.CustomField
	fieldsLower          map[string]string // lower-cased name → configured name
	fieldTypes           map[string]string
	builtin              []mapping
	mappings             []mapping
	overridden           map[string]bool // targets of configured mappings
	defaults             config.Defaults
	profiles             *resolve.Profiles
	deactivateUnprofiled bool
}

// NewMapper builds a Mapper from cfg. Empty settings take the config
// package's defaults (priority Internal_Collaborator < Viewer <
// Viewer_Analytics < Full, userNameField SFDCUserName, default license
// Viewer, system type Internal). It fails on a mapping it cannot apply: an
// unparsable SCIM path, an empty side, or a target the bridge does not
// write through records (Gsid, Manager, IsActiveUser, IsSuperAdmin).
func NewMapper(cfg *config.Config) (*Mapper, error) {
	if cfg == nil {
		return nil, errors.New("translate: nil config")
	}
	m := &Mapper{
		userNameField:        cfg.Mapping.UserNameField,
		priority:             append([]string(nil), cfg.Licenses.Priority...),
		licenses:             map[string]bool{licenseExternal: true},
		fields:               map[string]config.CustomField{},
		fieldsLower:          map[string]string{},
		fieldTypes:           map[string]string{},
		overridden:           map[string]bool{},
		defaults:             cfg.Defaults,
		profiles:             resolve.NewProfiles(cfg),
		deactivateUnprofiled: strings.EqualFold(cfg.Deprovision.OnNoProfiledGroups, deprovisionDeactivate),
	}
	if m.userNameField == "" {
		m.userNameField = defaultUserNameField
	}
	if len(m.priority) == 0 {
		m.priority = defaultPriority()
	}
	if m.defaults.LicenseType == "" {
		m.defaults.LicenseType = defaultLicenseType
	}
	if m.defaults.SystemType == "" {
		m.defaults.SystemType = defaultSystemType
	}
	for _, l := range m.priority {
		m.licenses[l] = true
	}
	if len(cfg.Roles) > 0 {
		m.roles = map[string]bool{}
		for _, r := range cfg.Roles {
			m.roles[r] = true
		}
		m.roleList = append([]string(nil), cfg.Roles...)
	}
	for _, f := range cfg.CustomFields {
		m.fields[f.Name] = f
		m.fieldsLower[strings.ToLower(f.Name)] = f.Name
		m.fieldTypes[f.Name] = f.Type
	}
	var errs []error
	for i, fm := range cfg.Mapping.Fields {
		switch {
		case fm.SCIM == "" || fm.Gainsight == "":
			errs = append(errs, fmt.Errorf("translate: mapping.fields[%d]: scim and gainsight are both required", i))
			continue
		case unmappable(fm.Gainsight) != "":
			errs = append(errs, fmt.Errorf("translate: mapping.fields[%d]: %s", i, unmappable(fm.Gainsight)))
			continue
		}
		p, err := parsePath(fm.SCIM)
		if err != nil {
			errs = append(errs, fmt.Errorf("translate: mapping.fields[%d]: %w", i, err))
			continue
		}
		target := m.canonicalField(fm.Gainsight)
		m.mappings = append(m.mappings, mapping{path: p, target: target})
		m.overridden[target] = true
	}
	for _, fm := range defaultMapping() {
		if m.overridden[fm.Gainsight] {
			continue
		}
		p, err := parsePath(fm.SCIM)
		if err != nil {
			return nil, fmt.Errorf("translate: built-in mapping %s: %w", fm.SCIM, err)
		}
		m.builtin = append(m.builtin, mapping{path: p, target: fm.Gainsight})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return m, nil
}

// Profiles returns the group profiles the mapper resolves with.
func (m *Mapper) Profiles() *resolve.Profiles { return m.profiles }

// canonicalField returns the configured spelling of a custom field name, or
// name itself.
func (m *Mapper) canonicalField(name string) string {
	if c, ok := m.fieldsLower[strings.ToLower(name)]; ok {
		return c
	}
	return name
}

func isCustom(name string) bool {
	return strings.HasSuffix(strings.ToLower(name), "__gc")
}

// built is everything one mapping run produces; Plan and Explain present
// parts of it.
type built struct {
	plan     Plan
	res      resolve.Result
	origins  map[string][]string // record key → "user" / "default" (groups come from res)
	groups   []ExplainedGroup
	conflict *resolve.Conflict
	inactive string // why Active is false, "" when active
}

const (
	originUser    = "user"
	originDefault = "default"
)

func (m *Mapper) build(u store.User, groups []store.GroupRef) (built, error) {
	doc := normaliseDoc(u.Doc)
	b := built{origins: map[string][]string{}}
	rec := record.Record{}
	setUser := func(k string, v any) {
		rec[k] = v
		b.origins[k] = []string{originUser}
	}
	own := resolve.Attributes{Fields: map[string]any{}}

	// userName and Email.
	userName := stringAt(doc, "userName")
	if userName == "" {
		userName = u.UserName
	}
	if userName != "" && !m.overridden[m.userNameField] {
		setUser(m.userNameField, userName)
	}
	if !m.overridden[FieldEmail] && m.userNameField != FieldEmail {
		if e := pickEmail(doc); e != "" {
			setUser(FieldEmail, e)
		} else if userName != "" {
			setUser(FieldEmail, userName)
		}
	}

	// Simple attributes.
	for _, mp := range m.builtin {
		if v, ok := mp.path.lookup(doc); ok {
			if s := scalarString(v); s != "" {
				setUser(mp.target, normalise(mp.target, s))
			}
		}
	}
	if _, ok := rec[FieldName]; !ok && !m.overridden[FieldName] {
		if s := stringAt(doc, "name.formatted"); s != "" {
			setUser(FieldName, s)
		} else if s := strings.TrimSpace(stringAt(doc, "name.givenName") + " " + stringAt(doc, "name.familyName")); s != "" {
			setUser(FieldName, s)
		} else if userName != "" {
			// Gainsight refuses to create a user without a name, and
			// IdPs often send none (Okta's minimal profile, Entra's
			// userPrincipalName-only mappings): the userName is the name
			// the admin recognises.
			setUser(FieldName, userName)
		}
	}
	if !m.overridden[FieldSystemType] && m.defaults.SystemType != "" {
		rec[FieldSystemType] = m.defaults.SystemType
		b.origins[FieldSystemType] = []string{originDefault}
	}

	// The user's own resolvable attributes: core roles, then the Gainsight
	// extension, then configured mappings (which override both).
	if !m.overridden[FieldPermissionBundles] {
		own.Roles = roleValues(doc)
	}
	if ext, ok := getCI(doc, GainsightURN); ok {
		if em, ok := ext.(map[string]any); ok {
			for k, v := range em {
				switch {
				case strings.EqualFold(k, FieldLicenseType):
					if s, ok := v.(string); ok && !m.overridden[FieldLicenseType] {
						own.LicenseType = s
					}
				case isCustom(k):
					name, ok := m.fieldsLower[strings.ToLower(k)]
					if !ok || m.overridden[name] {
						continue // unknown fields are rejected by ValidateUser
					}
					if cv, ok := m.coerceField(name, v); ok {
						own.Fields[name] = cv
					}
				}
			}
		}
	}
	for _, mp := range m.mappings {
		v, ok := mp.path.lookup(doc)
		if !ok {
			continue
		}
		switch {
		case mp.target == FieldLicenseType:
			own.LicenseType = scalarString(v)
		case mp.target == FieldPermissionBundles:
			if s, ok := resolve.AsStrings(unwrapValues(v)); ok {
				own.Roles = s
			}
		case isCustom(mp.target):
			if cv, ok := m.coerceField(mp.target, unwrapValues(v)); ok {
				own.Fields[mp.target] = cv
			}
		default:
			if s := scalarString(v); s != "" {
				setUser(mp.target, normalise(mp.target, s))
			}
		}
	}

	// Group resolution.
	var rg []resolve.Group
	for _, g := range groups {
		eg := ExplainedGroup{ID: g.ID, DisplayName: g.DisplayName, ExternalID: g.ExternalID}
		if p, ok := m.profiles.Match(g.DisplayName, g.ExternalID); ok {
			name := g.DisplayName
			if name == "" {
				name = g.ID
			}
			rg = append(rg, resolve.Group{Name: name, Profile: p})
			eg.Profiled, eg.Profile = true, p.Name
		}
		b.groups = append(b.groups, eg)
	}
	res, err := resolve.Resolve(resolve.Input{
		Own:        own,
		Groups:     rg,
		Defaults:   m.defaults,
		Priority:   m.priority,
		FieldTypes: m.fieldTypes,
	})
	if err != nil {
		var c *resolve.Conflict
		if !errors.As(err, &c) {
			return b, fmt.Errorf("translate: resolve: %w", err)
		}
		b.conflict = c
	}
	b.res = res
	if res.LicenseType != "" {
		rec[FieldLicenseType] = res.LicenseType
	}
	if len(res.Roles) > 0 {
		rec[FieldPermissionBundles] = sortedCopy(res.Roles)
	}
	for name, v := range res.Fields {
		rec[name] = m.recordValue(name, v)
	}

	active, err := parseActive(doc)
	if err != nil {
		return b, err
	}
	if !active {
		b.inactive = "active is false"
	} else if m.deactivateUnprofiled && m.profiles.Len() > 0 && !res.Profiled {
		active = false
		b.inactive = "in no profiled group (deprovision.onNoProfiledGroups: deactivate)"
	}

	sources := map[string][]string{}
	for k, v := range res.Sources {
		sources[recordKey(k)] = append([]string(nil), v...)
	}
	b.plan = Plan{
		Record:     rec,
		Active:     active,
		ManagerID:  managerID(doc),
		SuperAdmin: *res.SuperAdmin,
		Sources:    sources,
	}
	return b, nil
}

// Plan computes what u should look like in Gainsight, given the groups u is
// in (profiled or not; unprofiled groups are ignored). The Record holds only
// fields that have a value, never nil; permissionBundles and multi-picklist
// values are sorted []string. On a resolution conflict it returns an error
// wrapping the *resolve.Conflict (use errors.As); an unparsable active
// attribute gives a *FieldError.
func (m *Mapper) Plan(u store.User, groups []store.GroupRef) (Plan, error) {
	b, err := m.build(u, groups)
	if err != nil {
		return Plan{}, err
	}
	if b.conflict != nil {
		return Plan{}, fmt.Errorf("user %q: %w", u.UserName, b.conflict)
	}
	return b.plan, nil
}

// CheckGroups reports whether a user in exactly these groups would have a
// resolution conflict among the groups' profiles: nil or a
// *resolve.Conflict. The user's own attributes are not considered, so a
// membership change is judged the same for every member.
func (m *Mapper) CheckGroups(groups []store.GroupRef) error {
	var rg []resolve.Group
	for _, g := range groups {
		if p, ok := m.profiles.Match(g.DisplayName, g.ExternalID); ok {
			name := g.DisplayName
			if name == "" {
				name = g.ID
			}
			rg = append(rg, resolve.Group{Name: name, Profile: p})
		}
	}
	return resolve.ResolveGroups(rg, m.priority, m.fieldTypes)
}

// recordKey maps a resolve attribute key to its Gainsight record name.
func recordKey(k string) string {
	switch k {
	case resolve.KeySuperAdmin:
		return FieldSuperAdmin
	case resolve.KeyLicenseType:
		return FieldLicenseType
	case resolve.KeyRoles:
		return FieldPermissionBundles
	}
	return k
}

// recordValue turns a resolved custom field value into its record form:
// sorted lists for multi-picklists, numbers for number fields.
func (m *Mapper) recordValue(name string, v any) any {
	switch x := v.(type) {
	case []string:
		return sortedCopy(x)
	case string:
		if m.fieldTypes[name] == config.FieldNumber {
			if f, err := strconv.ParseFloat(x, 64); err == nil {
				return f
			}
		}
	}
	return v
}

// coerceField converts a SCIM value to the representation resolve expects
// for the field's type; false when it does not fit (ValidateUser reports
// those).
func (m *Mapper) coerceField(name string, v any) (any, bool) {
	if v == nil {
		return nil, false
	}
	t := m.fieldTypes[name]
	switch t {
	case config.FieldBoolean:
		return resolve.AsBool(v)
	case config.FieldMultiPicklist:
		return resolve.AsStrings(v)
	case config.FieldNumber:
		s, ok := resolve.AsString(v)
		if !ok {
			return nil, false
		}
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			return nil, false
		}
		return s, true
	case config.FieldDropdown, config.FieldString:
		return resolve.AsString(v)
	}
	// Not configured: keep the value's own shape.
	switch v.(type) {
	case bool:
		return v, true
	case []any, []string:
		return resolve.AsStrings(v)
	}
	return resolve.AsString(v)
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// normalise adapts a value to Gainsight's format: SCIM locales are BCP 47
// ("en-US"), Gainsight's use an underscore ("en_US").
func normalise(target, s string) string {
	if target == FieldLocale {
		return strings.ReplaceAll(s, "-", "_")
	}
	return s
}

// stringAt returns the string at a built-in path, or "".
// fixedPaths are the paths every user's mapping reads, parsed once:
// parsing one costs more than the rest of a user's mapping.
var fixedPaths = func() map[string]attrPath {
	out := map[string]attrPath{}
	for _, raw := range []string{"userName", "name.formatted", "name.givenName", "name.familyName"} {
		p, err := parsePath(raw)
		if err != nil {
			panic(err)
		}
		out[raw] = p
	}
	return out
}()

func stringAt(doc map[string]any, path string) string {
	p, ok := fixedPaths[path]
	if !ok {
		var err error
		if p, err = parsePath(path); err != nil {
			return ""
		}
	}
	v, ok := p.lookup(doc)
	if !ok {
		return ""
	}
	return scalarString(v)
}

// scalarString renders a mapped value as text: scalars as they are, a
// complex value by its "value" sub-attribute, a list by its first element.
func scalarString(v any) string {
	switch x := v.(type) {
	case map[string]any:
		sub, _ := getCI(x, "value")
		return scalarString(sub)
	case []any:
		if len(x) == 0 {
			return ""
		}
		return scalarString(x[0])
	case []string:
		if len(x) == 0 {
			return ""
		}
		return x[0]
	}
	s, _ := resolve.AsString(v)
	return strings.TrimSpace(s)
}

// unwrapValues turns a list of {value: …} objects into a list of values, so
// a mapping of a multi-valued complex attribute yields its values.
func unwrapValues(v any) any {
	switch x := v.(type) {
	case map[string]any:
		sub, _ := getCI(x, "value")
		return sub
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			if u := unwrapValues(e); u != nil {
				out = append(out, u)
			}
		}
		return out
	}
	return v
}

// pickEmail chooses the work address: the primary one, else the first of
// type "work", else the first without a type. Home and other addresses are
// never used.
func pickEmail(doc map[string]any) string {
	v, _ := getCI(doc, "emails")
	list, _ := v.([]any)
	var work, untyped string
	for _, e := range list {
		em, ok := e.(map[string]any)
		if !ok {
			continue
		}
		val := scalarString(mustGet(em, "value"))
		if val == "" {
			continue
		}
		if p, ok := resolve.AsBool(mustGet(em, "primary")); ok && p {
			return val
		}
		t, _ := mustGet(em, "type").(string)
		switch {
		case strings.EqualFold(t, "work") && work == "":
			work = val
		case t == "" && untyped == "":
			untyped = val
		}
	}
	if work != "" {
		return work
	}
	return untyped
}

func mustGet(m map[string]any, key string) any {
	v, _ := getCI(m, key)
	return v
}

// roleValues returns roles[].value (or bare strings) in order, without
// empties.
func roleValues(doc map[string]any) []string {
	v, _ := getCI(doc, "roles")
	var out []string
	add := func(e any) {
		if s := scalarString(e); s != "" {
			out = append(out, s)
		}
	}
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			add(e)
		}
	case []string:
		for _, e := range x {
			add(e)
		}
	case nil:
	default:
		add(x)
	}
	return out
}

// parseActive reads SCIM active: a boolean or the strings "true"/"false" in
// any case (Entra without the 2020 flag); absent or null means active.
func parseActive(doc map[string]any) (bool, error) {
	v, ok := getCI(doc, "active")
	if !ok || v == nil {
		return true, nil
	}
	b, ok := resolve.AsBool(v)
	if !ok {
		return false, &FieldError{Attribute: "active", Message: describe(v) + " is not a boolean"}
	}
	return b, nil
}

// managerID reads the enterprise manager: an object's value, or a bare
// string as Entra sends it.
func managerID(doc map[string]any) string {
	ext, _ := getCI(doc, EnterpriseURN)
	em, _ := ext.(map[string]any)
	v, _ := getCI(em, "manager")
	return scalarString(v)
}
