package config

import "time"

// Config is the whole configuration file.
type Config struct {
	Listen       Listen         `yaml:"listen"`
	SCIM         SCIM           `yaml:"scim"`
	Gainsight    Gainsight      `yaml:"gainsight"`
	Store        Store          `yaml:"store"`
	Sync         Sync           `yaml:"sync"`
	Mapping      Mapping        `yaml:"mapping"`
	Defaults     Defaults       `yaml:"defaults"`
	Licenses     Licenses       `yaml:"licenses"`
	CustomFields []CustomField  `yaml:"customFields"`
	Roles        []string       `yaml:"roles"` // known permission bundles; empty = not checked locally
	Groups       []GroupProfile `yaml:"groups"`
	Deprovision  Deprovision    `yaml:"deprovision"`
	Log          Log            `yaml:"log"`
	Google       *GoogleSource  `yaml:"google,omitempty"`
	Audit        Audit          `yaml:"audit"`
	Console      Console        `yaml:"console"`
}

// Listen holds the two listeners' addresses and what each accepts before
// a request is authenticated.
type Listen struct {
	SCIM  string `yaml:"scim"`  // default 127.0.0.1:8080
	Admin string `yaml:"admin"` // default 127.0.0.1:9090
	// MaxHeaderBytes bounds a request's header block (request line
	// included); a larger one is answered 431 and the connection closed.
	MaxHeaderBytes int `yaml:"maxHeaderBytes"` // default 32 KiB
	// MaxConnections bounds the connections each listener serves at once;
	// further clients wait in the kernel's accept queue.
	MaxConnections int `yaml:"maxConnections"` // default 512
	// Pprof serves Go's profiles (net/http/pprof) under /debug/pprof/ on
	// the admin listener, behind the SCIM bearer tokens. Off by default.
	Pprof bool `yaml:"pprof"`
}

// SCIM configures the SCIM front end.
type SCIM struct {
	BasePath     string  `yaml:"basePath"` // default /scim/v2
	Tokens       []Token `yaml:"tokens"`
	MaxBodyBytes int64   `yaml:"maxBodyBytes"` // default 1 MiB
	// ExternalURL is the base URL IdPs use (for Location and meta.location);
	// empty means derived from the request.
	ExternalURL string `yaml:"externalURL"`
	// Limits bound the work and memory one request may cause.
	Limits SCIMLimits `yaml:"limits"`
}

// SCIMLimits bound what one SCIM request may store or make the bridge do.
// A request over a limit is refused with a SCIM error naming the limit and
// changes nothing.
type SCIMLimits struct {
	// MaxValuesPerAttribute bounds the values of each multi-valued user
	// attribute (emails, phoneNumbers, roles, a multi-picklist field, …);
	// group members are not counted (400 invalidValue).
	MaxValuesPerAttribute int `yaml:"maxValuesPerAttribute"` // default 100
	// MaxDocumentBytes bounds a stored user or group document as JSON,
	// group members not counted (413).
	MaxDocumentBytes int `yaml:"maxDocumentBytes"` // default 32 KiB
	// MaxPatchOperations bounds the operations of one PATCH (400 tooMany).
	MaxPatchOperations int `yaml:"maxPatchOperations"` // default 1000
	// MaxFilterLength bounds a filter's length in bytes (400 invalidFilter).
	MaxFilterLength int `yaml:"maxFilterLength"` // default 4096
	// MaxFilterDepth bounds how deeply a filter nests parentheses and value
	// filters (400 invalidFilter).
	MaxFilterDepth int `yaml:"maxFilterDepth"` // default 16
	// MaxFilterCandidates bounds how many stored resources a filter the
	// store cannot answer by itself may make the bridge read and test
	// (400 tooMany).
	MaxFilterCandidates int `yaml:"maxFilterCandidates"` // default 10000
}

// Token is one accepted bearer token, stored as the hex SHA-256 of the
// token (see `scim-bridge hash-token`). Several may be configured at once so
// a token can be rotated without downtime.
type Token struct {
	Name       string `yaml:"name"`
	SHA256     Secret `yaml:"sha256"`
	SHA256File string `yaml:"sha256File"`
}

// Gainsight configures the upstream client.
type Gainsight struct {
	BaseURL       string        `yaml:"baseURL"`
	API           string        `yaml:"api"` // services (default) | users-v1
	AccessKey     Secret        `yaml:"accessKey"`
	AccessKeyFile string        `yaml:"accessKeyFile"`
	Timeout       time.Duration `yaml:"timeout"` // per call, default 30s
	Budget        Budget        `yaml:"budget"`
	BatchSize     int           `yaml:"batchSize"`   // default 50, max 50
	Concurrency   int           `yaml:"concurrency"` // users-v1 fan-out, default 4
	// DefaultRole is the users-v1 role sent on create when a user has no
	// permission bundle (that dialect requires one).
	DefaultRole string `yaml:"defaultRole"`
}

// Budget is the rate budget in fixed windows; 0 means unlimited.
type Budget struct {
	PerHour int `yaml:"perHour"` // default 100
	PerDay  int `yaml:"perDay"`  // default 1000
	// ReservedPercent is the share of each window (hour and day), in
	// percent, that only urgent work (deactivations: users who should lose
	// access) may spend, so an import that spends the rest never holds
	// offboarding back until the next window. Default 10: 10 calls of 100
	// an hour, 100 of 1,000 a day. Rounded up to whole calls; a window
	// always leaves other work at least one call.
	ReservedPercent int `yaml:"reservedPercent"`
	// WindowHour and WindowDay are the lengths of the two fixed windows
	// (default 1h and 24h: Gainsight's documented windows; 0 means the
	// default), for tenants whose package counts otherwise, and for tests.
	WindowHour time.Duration `yaml:"windowHour"`
	WindowDay  time.Duration `yaml:"windowDay"`
}

// Store selects and configures the storage backend.
type Store struct {
	Type     string   `yaml:"type"` // sqlite (default) | postgres
	SQLite   SQLite   `yaml:"sqlite"`
	Postgres Postgres `yaml:"postgres"`
}

// SQLite configures the embedded store.
type SQLite struct {
	Path string `yaml:"path"` // default ./scim-bridge.db
}

// Postgres configures the PostgreSQL store.
type Postgres struct {
	DSN              Secret        `yaml:"dsn"`
	DSNFile          string        `yaml:"dsnFile"`
	MaxConns         int           `yaml:"maxConns"`         // default 10
	StatementTimeout time.Duration `yaml:"statementTimeout"` // default 10s
}

// Sync configures the sync engine.
type Sync struct {
	BatchWindow       time.Duration `yaml:"batchWindow"`       // wait to fill a batch, default 2s
	MinBackoff        time.Duration `yaml:"minBackoff"`        // default 30s
	MaxBackoff        time.Duration `yaml:"maxBackoff"`        // default 1h
	Lease             time.Duration `yaml:"lease"`             // default 5m
	ReconcileInterval time.Duration `yaml:"reconcileInterval"` // 0 = off (default 24h)
	// TombstoneRetention is how long a deleted user's link is kept once its
	// Gainsight user is confirmed inactive (or was never created); 0 keeps
	// them for ever (default 90 days, 2160h).
	TombstoneRetention time.Duration `yaml:"tombstoneRetention"`
	// Snapshot says when the engine lists the tenant's join keys instead
	// of looking unlinked users up batch by batch: auto (default) when the
	// listing costs fewer calls, always, or off.
	Snapshot string `yaml:"snapshot"`
	// SnapshotMaxAge is how long a tenant snapshot is used (default 24h).
	SnapshotMaxAge time.Duration `yaml:"snapshotMaxAge"`
	// Mode is live (default): the engine writes to Gainsight; or shadow:
	// it plans every change and stores the plan, and writes nothing.
	// Reloadable: switching to live syncs what shadow mode planned.
	Mode string `yaml:"mode"`
	// Guard is the mass-deactivation guard. Reloadable.
	Guard Guard `yaml:"guard"`
}

// Tenant snapshot policies (Sync.Snapshot).
const (
	SnapshotAuto   = "auto"
	SnapshotAlways = "always"
	SnapshotOff    = "off"
)

// Sync engine modes (Sync.Mode).
const (
	ModeLive   = "live"
	ModeShadow = "shadow"
)

// Guard holds the deactivations beyond a threshold, per window, until an
// operator approves them: a misconfigured identity source or mapping then
// costs an alert and a decision, not hundreds of people's access.
type Guard struct {
	// Enabled turns the guard on (default true).
	Enabled bool `yaml:"enabled"`
	// MaxUsers is the deactivations allowed per window (default 50; 0: no
	// absolute limit).
	MaxUsers int `yaml:"maxUsers"`
	// MaxPercent is the deactivations allowed per window as a percentage
	// of the managed users active in Gainsight (default 10; 0: no limit
	// by share). The lower of the two limits applies.
	MaxPercent int `yaml:"maxPercent"`
	// Window is the sliding window the deactivations are counted in
	// (default 1h).
	Window time.Duration `yaml:"window"`
}

// WithoutRollout returns s without its reloadable part, for comparing
// what a reload cannot apply.
func (s Sync) WithoutRollout() Sync {
	s.Mode, s.Guard = "", Guard{}
	return s
}

// Mapping overrides the default SCIM → Gainsight mapping.
type Mapping struct {
	// Fields maps further SCIM attributes (paths such as
	// "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"
	// or "title") to Gainsight fields, overriding defaults.
	Fields []FieldMapping `yaml:"fields"`
	// UserNameField is the Gainsight field userName maps to (default
	// SFDCUserName).
	UserNameField string `yaml:"userNameField"`
}

// FieldMapping maps one SCIM attribute path to one Gainsight field.
type FieldMapping struct {
	SCIM      string `yaml:"scim"`
	Gainsight string `yaml:"gainsight"`
}

// Defaults are applied to new users and to users in no profiled group.
type Defaults struct {
	LicenseType       string   `yaml:"licenseType"` // default Viewer
	SystemType        string   `yaml:"systemType"`  // default Internal
	PermissionBundles []string `yaml:"permissionBundles"`
}

// Licenses lists license types from lowest to highest priority.
type Licenses struct {
	Priority []string `yaml:"priority"` // default Internal_Collaborator, Viewer, Viewer_Analytics, Full
}

// Custom field types.
const (
	FieldBoolean       = "boolean"
	FieldMultiPicklist = "multiPicklist"
	FieldDropdown      = "dropdown"
	FieldString        = "string"
	FieldNumber        = "number"
)

// CustomField is one Gainsight custom field (name ends in "__gc").
type CustomField struct {
	Name   string   `yaml:"name"`
	Type   string   `yaml:"type"`
	Values []string `yaml:"values"` // allowed values for dropdown/multiPicklist; empty = any
}

// GroupProfile sets attributes that members of a matching pushed group
// inherit.
type GroupProfile struct {
	Name        string         `yaml:"name"` // profile name, for messages
	DisplayName string         `yaml:"displayName"`
	ExternalID  string         `yaml:"externalId"`
	SuperAdmin  *bool          `yaml:"superAdmin"`
	LicenseType string         `yaml:"licenseType"`
	Roles       []string       `yaml:"roles"`
	Fields      map[string]any `yaml:"fields"` // custom field name → value (bool, string or []string)
}

// Deprovision says what happens when users leave.
type Deprovision struct {
	OnNoProfiledGroups string `yaml:"onNoProfiledGroups"` // keep (default) | deactivate
}

// Log configures logging.
type Log struct {
	Level string `yaml:"level"` // debug | info (default) | warn | error
}

// GoogleSource configures polling Google Workspace's Directory API.
type GoogleSource struct {
	CredentialsFile string        `yaml:"credentialsFile"` // service account key; relative to the config file's directory
	Subject         string        `yaml:"subject"`         // admin to impersonate
	Customer        string        `yaml:"customer"`        // customer id (or my_customer); takes precedence over domain
	Domain          string        `yaml:"domain"`
	Endpoint        string        `yaml:"endpoint"` // override, for tests
	Interval        time.Duration `yaml:"interval"` // default 5m
	// Scope selects which Google users become Gainsight users: all (the
	// default when no list is set), orgUnits or userGroups. Empty means
	// derived from which of OrgUnits and UserGroups is set.
	Scope      string   `yaml:"scope"`
	OrgUnits   []string `yaml:"orgUnits"`   // org unit paths ("/Sales"); sub-units included
	UserGroups []string `yaml:"userGroups"` // group emails; nested groups flattened
	// GroupPatterns select the Google groups pushed as groups: shell
	// globs (path.Match syntax) compared case-insensitively with the
	// group's name and email.
	GroupPatterns []string `yaml:"groupPatterns"`
	// Attributes map further Google user attributes (dotted paths into the
	// Directory API user, such as "organizations.costCenter" or
	// "customSchemas.HR.level"; lists take their primary entry) to SCIM
	// attribute paths, which the SCIM mapping then maps to Gainsight.
	Attributes []GoogleAttribute `yaml:"attributes"`
}

// GoogleAttribute maps one Google user attribute to one SCIM attribute path.
type GoogleAttribute struct {
	Google string `yaml:"google"`
	SCIM   string `yaml:"scim"`
}

// Google source scopes (GoogleSource.Scope).
const (
	GoogleScopeAll        = "all"
	GoogleScopeOrgUnits   = "orgUnits"
	GoogleScopeUserGroups = "userGroups"
)

// EffectiveScope returns Scope, or the scope the lists imply when it is
// empty: orgUnits or userGroups when that list is set, otherwise all.
func (g GoogleSource) EffectiveScope() string {
	switch {
	case g.Scope != "":
		return g.Scope
	case len(g.OrgUnits) > 0 && len(g.UserGroups) == 0:
		return GoogleScopeOrgUnits
	case len(g.UserGroups) > 0 && len(g.OrgUnits) == 0:
		return GoogleScopeUserGroups
	}
	return GoogleScopeAll
}

// Secret is a string that prints masked.
type Secret string

// String masks the secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "<secret>"
}

// GoString masks the secret in %#v output.
func (s Secret) GoString() string { return `"` + s.String() + `"` }

// MarshalYAML masks the secret when the effective config is printed.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// MarshalJSON masks the secret when the config is encoded as JSON (for
// example by an admin endpoint).
func (s Secret) MarshalJSON() ([]byte, error) {
	if s == "" {
		return []byte(`""`), nil
	}
	return []byte(`"<secret>"`), nil
}

// Gainsight API dialects (Gainsight.API).
const (
	APIServices = "services"
	APIUsersV1  = "users-v1"
)

// Store types (Store.Type).
const (
	StoreSQLite   = "sqlite"
	StorePostgres = "postgres"
)

// Deprovision policies (Deprovision.OnNoProfiledGroups).
const (
	DeprovisionKeep       = "keep"
	DeprovisionDeactivate = "deactivate"
)

// LicenseExternal is the free license of external users; it is valid in
// defaults and profiles without being listed in Licenses.Priority.
const LicenseExternal = "External"
