package gainsighttest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"gopkg.in/yaml.v3"
)

// DefaultAccessKey is the access key of a Tenant that sets none.
const DefaultAccessKey = "sim-access-key"

// DefaultLicenseTypes returns the license types of a Tenant that sets none.
func DefaultLicenseTypes() []string {
	return []string{"Full", "Viewer", "Viewer_Analytics", "Internal_Collaborator", "External"}
}

// DefaultPermissionBundles returns the permission bundles (users-v1 role
// names) of a Tenant that sets none.
func DefaultPermissionBundles() []string { return []string{"Admin", "Manager", "User"} }

// Custom field types a Tenant may declare.
const (
	FieldBoolean       = "boolean"
	FieldString        = "string"
	FieldNumber        = "number"
	FieldDropdown      = "dropdown"
	FieldMultiPicklist = "multiPicklist"
)

// Tenant is what the simulated Gainsight tenant knows before any call: its
// access key, the license types, permission bundles and custom fields it
// has, its rate limits and its initial users.
type Tenant struct {
	// AccessKey is the value the accesskey header must carry;
	// DefaultAccessKey when empty.
	AccessKey string `yaml:"accessKey" json:"accessKey"`
	// LicenseTypes are the accepted LicenseType values; default Full,
	// Viewer, Viewer_Analytics, Internal_Collaborator, External.
	LicenseTypes []string `yaml:"licenseTypes" json:"licenseTypes"`
	// PermissionBundles are the accepted permissionBundles names, and the
	// users-v1 role names; default Admin, Manager, User.
	PermissionBundles []string `yaml:"permissionBundles" json:"permissionBundles"`
	// CustomFields maps each custom field ("Region__gc") to its type:
	// boolean, string, number, dropdown or multiPicklist.
	CustomFields map[string]string `yaml:"customFields" json:"customFields"`
	// PerHour and PerDay are the calls accepted per window; 0 is unlimited.
	PerHour int `yaml:"perHour" json:"perHour"`
	PerDay  int `yaml:"perDay" json:"perDay"`
	// HourWindow and DayWindow are the lengths of the fixed, clock-aligned
	// rate windows; default 1h and 24h. Tests shrink them.
	HourWindow time.Duration `yaml:"hourWindow" json:"hourWindow"`
	DayWindow  time.Duration `yaml:"dayWindow" json:"dayWindow"`
	// Users are the initial users, as services-dialect records. A Gsid is
	// generated for a user without one; IsActiveUser defaults to true.
	Users []map[string]any `yaml:"users" json:"users"`
	// Refuse maps a string field ("Title") to values the tenant's own
	// validation rules refuse: a create or update that would store one of
	// them fails for that record (GU_2401/GU_2402), as a field Gainsight
	// rejects does, while status changes still apply.
	Refuse map[string][]string `yaml:"refuse" json:"refuse"`
}

// Config is a simulator configuration file: the tenant's fields at the top
// level, and the faults to start with under "faults".
type Config struct {
	Tenant `yaml:",inline"`
	Faults Faults `yaml:"faults"`
}

// LoadTenant reads a tenant (seed) file, YAML or JSON; see LoadConfig. A
// "faults" block in it is accepted and ignored.
func LoadTenant(path string) (Tenant, error) {
	c, err := LoadConfig(path)
	if err != nil {
		return Tenant{}, err
	}
	return c.Tenant, nil
}

// LoadConfig reads a simulator configuration file, YAML or JSON. Unknown
// keys are errors; durations are strings such as "1h" or "200ms".
func LoadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("gainsighttest: read config: %w", err)
	}
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("gainsighttest: parse config %s: %w", path, err)
	}
	if err := c.Tenant.Validate(); err != nil {
		return Config{}, fmt.Errorf("gainsighttest: config %s: %w", path, err)
	}
	if err := c.Faults.Validate(); err != nil {
		return Config{}, fmt.Errorf("gainsighttest: config %s: %w", path, err)
	}
	users, err := normalizeUsers(c.Users)
	if err != nil {
		return Config{}, fmt.Errorf("gainsighttest: config %s: %w", path, err)
	}
	c.Users = users
	return c, nil
}

// Validate reports the first setting of t that cannot work. LoadConfig
// applies it; New serves an invalid tenant as well as it can and logs a
// warning.
func (t Tenant) Validate() error {
	for name, typ := range t.CustomFields {
		if !isCustomField(name) {
			return fmt.Errorf("customFields: %q does not end in __gc", name)
		}
		switch typ {
		case FieldBoolean, FieldString, FieldNumber, FieldDropdown, FieldMultiPicklist:
		default:
			return fmt.Errorf("customFields.%s: unknown type %q", name, typ)
		}
	}
	for field := range t.Refuse {
		if !isStringField(field) && !isCustomField(field) {
			return fmt.Errorf("refuse: %q is not a string field", field)
		}
	}
	switch {
	case t.PerHour < 0:
		return errors.New("perHour: must not be negative")
	case t.PerDay < 0:
		return errors.New("perDay: must not be negative")
	case t.HourWindow < 0:
		return errors.New("hourWindow: must not be negative")
	case t.DayWindow < 0:
		return errors.New("dayWindow: must not be negative")
	}
	return nil
}

// withDefaults returns t with every empty setting defaulted and its users
// deep-copied in JSON value types.
func (t Tenant) withDefaults() Tenant {
	if t.AccessKey == "" {
		t.AccessKey = DefaultAccessKey
	}
	if len(t.LicenseTypes) == 0 {
		t.LicenseTypes = DefaultLicenseTypes()
	}
	if len(t.PermissionBundles) == 0 {
		t.PermissionBundles = DefaultPermissionBundles()
	}
	if t.HourWindow <= 0 {
		t.HourWindow = time.Hour
	}
	if t.DayWindow <= 0 {
		t.DayWindow = 24 * time.Hour
	}
	t.LicenseTypes = append([]string(nil), t.LicenseTypes...)
	t.PermissionBundles = append([]string(nil), t.PermissionBundles...)
	cf := make(map[string]string, len(t.CustomFields))
	for k, v := range t.CustomFields {
		cf[k] = v
	}
	t.CustomFields = cf
	refuse := make(map[string][]string, len(t.Refuse))
	for k, v := range t.Refuse {
		refuse[k] = append([]string(nil), v...)
	}
	t.Refuse = refuse
	if users, err := normalizeUsers(t.Users); err == nil {
		t.Users = users
	}
	return t
}

// normalizeUsers deep-copies users through JSON so that every value has the
// type a decoded request body would have (float64, []any, map[string]any).
func normalizeUsers(users []map[string]any) ([]map[string]any, error) {
	out := make([]map[string]any, 0, len(users))
	for i, u := range users {
		b, err := json.Marshal(u)
		if err != nil {
			return nil, fmt.Errorf("users[%d]: %w", i, err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("users[%d]: %w", i, err)
		}
		if m == nil {
			m = map[string]any{}
		}
		out = append(out, m)
	}
	return out, nil
}
