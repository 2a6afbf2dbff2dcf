package config

import (
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
)

// FieldError is one problem with the configuration: the field path (for
// example "groups[2].licenseType", or "line 12" for a decoding problem) and
// what is wrong with it.
type FieldError struct {
	Path    string
	Message string
}

// Error returns "path: message".
func (e FieldError) Error() string { return e.Path + ": " + e.Message }

// ValidationErrors is every problem found in a configuration, in file
// order.
type ValidationErrors []FieldError

// Error lists the problems one per line.
func (v ValidationErrors) Error() string {
	msgs := make([]string, len(v))
	for i, e := range v {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Strings returns each problem as "path: message".
func (v ValidationErrors) Strings() []string {
	out := make([]string, len(v))
	for i, e := range v {
		out[i] = e.Error()
	}
	return out
}

type checker struct{ errs ValidationErrors }

func (c *checker) add(path, format string, args ...any) {
	c.errs = append(c.errs, FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
}

// Validate checks the whole configuration and returns every problem at once
// as ValidationErrors, or nil. It does not touch the file system or the
// network.
func (c *Config) Validate() error {
	var ch checker
	c.validateListen(&ch)
	c.validateSCIM(&ch)
	c.validateGainsight(&ch)
	c.validateStore(&ch)
	c.validateSync(&ch)
	c.validateLicensesAndRoles(&ch)
	c.validateCustomFields(&ch)
	c.validateMapping(&ch)
	c.validateDefaults(&ch)
	c.validateGroups(&ch)
	switch c.Deprovision.OnNoProfiledGroups {
	case DeprovisionKeep, DeprovisionDeactivate:
	default:
		ch.add("deprovision.onNoProfiledGroups", "%q is not one of keep, deactivate", c.Deprovision.OnNoProfiledGroups)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		ch.add("log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	c.validateGoogle(&ch)
	c.validateAuditAndConsole(&ch)
	if len(ch.errs) == 0 {
		return nil
	}
	return ch.errs
}

func (c *Config) validateListen(ch *checker) {
	checkAddr(ch, "listen.scim", c.Listen.SCIM)
	checkAddr(ch, "listen.admin", c.Listen.Admin)
	// Port 0 asks the kernel for a free port, so two of them never clash.
	if c.Listen.SCIM != "" && c.Listen.SCIM == c.Listen.Admin && !strings.HasSuffix(c.Listen.SCIM, ":0") {
		ch.add("listen.admin", "must differ from listen.scim")
	}
	// Below 4 KiB a request with a bearer token and an ordinary URL may
	// not fit; a header block larger than 1 MiB is Go's own default.
	checkRange(ch, "listen.maxHeaderBytes", c.Listen.MaxHeaderBytes, 4<<10, 1<<20)
	checkRange(ch, "listen.maxConnections", c.Listen.MaxConnections, 1, 1<<20)
}

// checkRange adds an error unless lo <= v <= hi.
func checkRange(ch *checker, path string, v, lo, hi int) {
	if v < lo || v > hi {
		ch.add(path, "must be between %d and %d, got %d", lo, hi, v)
	}
}

func checkAddr(ch *checker, path, addr string) {
	if addr == "" {
		ch.add(path, "required")
		return
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		ch.add(path, "invalid address %q: want host:port", addr)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		ch.add(path, "invalid port %q in %q", port, addr)
	}
}

func checkURL(ch *checker, path, raw string) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		ch.add(path, "must be an absolute http or https URL, got %q", raw)
	}
}

func (c *Config) validateSCIM(ch *checker) {
	s := c.SCIM
	switch {
	case !strings.HasPrefix(s.BasePath, "/"):
		ch.add("scim.basePath", "must start with \"/\", got %q", s.BasePath)
	case len(s.BasePath) > 1 && strings.HasSuffix(s.BasePath, "/"):
		ch.add("scim.basePath", "must not end with \"/\", got %q", s.BasePath)
	}
	if len(s.Tokens) == 0 {
		ch.add("scim.tokens", "at least one token is required")
	}
	checkTokens(ch, "scim.tokens", s.Tokens, false)
	if s.MaxBodyBytes <= 0 {
		ch.add("scim.maxBodyBytes", "must be positive, got %d", s.MaxBodyBytes)
	}
	l := s.Limits
	checkRange(ch, "scim.limits.maxValuesPerAttribute", l.MaxValuesPerAttribute, 1, 1<<20)
	// A user of a few attributes must fit, and a document the store keeps
	// beside its indexed copies stays well below PostgreSQL's 1 GB field.
	checkRange(ch, "scim.limits.maxDocumentBytes", l.MaxDocumentBytes, 1<<10, 16<<20)
	checkRange(ch, "scim.limits.maxPatchOperations", l.MaxPatchOperations, 1, 1<<20)
	// userName eq "…" with the longest indexed value must fit.
	checkRange(ch, "scim.limits.maxFilterLength", l.MaxFilterLength, 2*1024+64, 1<<20)
	checkRange(ch, "scim.limits.maxFilterDepth", l.MaxFilterDepth, 1, 1000)
	checkRange(ch, "scim.limits.maxFilterCandidates", l.MaxFilterCandidates, 1, 1<<30)
	if s.ExternalURL != "" {
		checkURL(ch, "scim.externalURL", s.ExternalURL)
	}
}

// checkTokens reports what is wrong with a list of bearer tokens: a
// missing or malformed hash, a token listed twice, a duplicate (or, when
// named is set, missing) name.
func checkTokens(ch *checker, path string, tokens []Token, named bool) {
	names := map[string]int{}
	hashes := map[string]int{}
	for i, t := range tokens {
		p := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case t.Name == "" && named:
			ch.add(p+".name", "required: the audit trail records it")
		case t.Name != "":
			if j, dup := names[t.Name]; dup {
				ch.add(p+".name", "duplicate token name %q (also %s[%d])", t.Name, path, j)
			} else {
				names[t.Name] = i
			}
		}
		switch {
		case t.SHA256 == "":
			if t.SHA256File == "" {
				ch.add(p+".sha256", "required (set sha256 or sha256File)")
			}
		case !isSHA256Hex(string(t.SHA256)):
			ch.add(p+".sha256", "must be 64 hexadecimal characters, the SHA-256 of the token (see scim-bridge hash-token)")
		default:
			h := strings.ToLower(string(t.SHA256))
			if j, dup := hashes[h]; dup {
				ch.add(p+".sha256", "same token as %s[%d]", path, j)
			} else {
				hashes[h] = i
			}
		}
	}
}

func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// MaxReservedPercent bounds gainsight.budget.reservedPercent: the rest of
// each window is what imports, updates and look-ups may spend.
const MaxReservedPercent = 50

// Windows returns the lengths of the hour and day windows: WindowHour and
// WindowDay, or Gainsight's 1h and 24h where they are 0.
func (b Budget) Windows() (hour, day time.Duration) {
	hour, day = b.WindowHour, b.WindowDay
	if hour == 0 {
		hour = time.Hour
	}
	if day == 0 {
		day = 24 * time.Hour
	}
	return hour, day
}

// Reserved returns the calls of a window of limit calls (0: unlimited)
// that ReservedPercent keeps for urgent work: the share rounded up, but
// never the window's last call.
func (b Budget) Reserved(limit int) int {
	if limit <= 0 || b.ReservedPercent <= 0 {
		return 0
	}
	return min((limit*b.ReservedPercent+99)/100, limit-1)
}

func (c *Config) validateGainsight(ch *checker) {
	g := c.Gainsight
	if g.BaseURL == "" {
		ch.add("gainsight.baseURL", "required")
	} else {
		checkURL(ch, "gainsight.baseURL", g.BaseURL)
	}
	switch g.API {
	case APIServices, APIUsersV1:
	default:
		ch.add("gainsight.api", "%q is not one of services, users-v1", g.API)
	}
	if g.AccessKey == "" && g.AccessKeyFile == "" {
		ch.add("gainsight.accessKey", "required (set accessKey or accessKeyFile)")
	}
	checkPositive(ch, "gainsight.timeout", g.Timeout)
	if g.Budget.PerHour < 0 {
		ch.add("gainsight.budget.perHour", "must not be negative (0 means unlimited), got %d", g.Budget.PerHour)
	}
	if g.Budget.PerDay < 0 {
		ch.add("gainsight.budget.perDay", "must not be negative (0 means unlimited), got %d", g.Budget.PerDay)
	}
	if g.Budget.ReservedPercent < 0 || g.Budget.ReservedPercent > MaxReservedPercent {
		ch.add("gainsight.budget.reservedPercent", "must be between 0 and %d, got %d", MaxReservedPercent, g.Budget.ReservedPercent)
	}
	checkNotNegative(ch, "gainsight.budget.windowHour", g.Budget.WindowHour)
	checkNotNegative(ch, "gainsight.budget.windowDay", g.Budget.WindowDay)
	if hour, day := g.Budget.Windows(); g.Budget.WindowHour >= 0 && g.Budget.WindowDay >= 0 && day < hour {
		ch.add("gainsight.budget.windowDay", "must not be shorter than gainsight.budget.windowHour (%s), got %s", hour, day)
	}
	if g.BatchSize < 1 || g.BatchSize > MaxBatchSize {
		ch.add("gainsight.batchSize", "must be between 1 and %d, got %d", MaxBatchSize, g.BatchSize)
	}
	if g.Concurrency < 1 {
		ch.add("gainsight.concurrency", "must be at least 1, got %d", g.Concurrency)
	}
	switch {
	case g.DefaultRole == "" && g.API == APIUsersV1:
		ch.add("gainsight.defaultRole", "required when api is users-v1 (that API needs a role on create)")
	case g.DefaultRole != "" && len(c.Roles) > 0 && !contains(c.Roles, g.DefaultRole):
		ch.add("gainsight.defaultRole", "%q is not a configured role", g.DefaultRole)
	}
}

func checkPositive(ch *checker, path string, d time.Duration) {
	if d <= 0 {
		ch.add(path, "must be positive, got %s", d)
	}
}

func checkNotNegative(ch *checker, path string, d time.Duration) {
	if d < 0 {
		ch.add(path, "must not be negative, got %s", d)
	}
}

func (c *Config) validateStore(ch *checker) {
	s := c.Store
	switch s.Type {
	case StoreSQLite:
		if s.SQLite.Path == "" {
			ch.add("store.sqlite.path", "required when store.type is sqlite")
		}
	case StorePostgres:
		switch {
		case s.Postgres.DSN == "" && s.Postgres.DSNFile == "":
			ch.add("store.postgres.dsn", "required when store.type is postgres (set dsn or dsnFile)")
		case s.Postgres.DSN != "":
			if msg := checkDSN(string(s.Postgres.DSN)); msg != "" {
				ch.add("store.postgres.dsn", "%s", msg)
			}
		}
		if s.Postgres.MaxConns < 1 {
			ch.add("store.postgres.maxConns", "must be at least 1, got %d", s.Postgres.MaxConns)
		}
		checkPositive(ch, "store.postgres.statementTimeout", s.Postgres.StatementTimeout)
	default:
		ch.add("store.type", "%q is not one of sqlite, postgres", s.Type)
	}
}

// checkDSN returns what is wrong with a PostgreSQL connection string, or "".
// It accepts the two forms the driver does, a postgres:// (or postgresql://)
// URL and keyword=value pairs, and checks only their syntax. The message
// never quotes the DSN: it usually holds a password.
func checkDSN(dsn string) string {
	if scheme, _, ok := strings.Cut(dsn, "://"); ok && !strings.ContainsAny(scheme, " ='") {
		if scheme != "postgres" && scheme != "postgresql" {
			return "a URL DSN must start with postgres:// or postgresql://"
		}
		if strings.Contains(dsn, "#") {
			return "not a valid postgres:// URL: \"#\" starts a fragment, which the driver drops (percent-encode it as %23 in the password)"
		}
		if _, err := url.Parse(dsn); err != nil {
			// err quotes the URL, password included.
			return "not a valid postgres:// URL (percent-encode special characters in the user name and password)"
		}
		return ""
	}
	if !strings.Contains(dsn, "=") {
		return "want a postgres:// URL or keyword=value pairs such as \"host=db user=bridge dbname=scim\""
	}
	return ""
}

func (c *Config) validateSync(ch *checker) {
	s := c.Sync
	checkNotNegative(ch, "sync.batchWindow", s.BatchWindow)
	checkPositive(ch, "sync.minBackoff", s.MinBackoff)
	if s.MaxBackoff < s.MinBackoff {
		ch.add("sync.maxBackoff", "must not be less than sync.minBackoff (%s), got %s", s.MinBackoff, s.MaxBackoff)
	}
	checkPositive(ch, "sync.lease", s.Lease)
	checkNotNegative(ch, "sync.reconcileInterval", s.ReconcileInterval)
	checkNotNegative(ch, "sync.tombstoneRetention", s.TombstoneRetention)
	switch s.Snapshot {
	case SnapshotAuto, SnapshotAlways, SnapshotOff:
	default:
		ch.add("sync.snapshot", "%q is not one of auto, always, off", s.Snapshot)
	}
	checkPositive(ch, "sync.snapshotMaxAge", s.SnapshotMaxAge)
	switch s.Mode {
	case ModeLive, ModeShadow:
	default:
		ch.add("sync.mode", "%q is not one of live, shadow", s.Mode)
	}
	g := s.Guard
	if g.MaxUsers < 0 {
		ch.add("sync.guard.maxUsers", "must not be negative, got %d", g.MaxUsers)
	}
	if g.MaxPercent < 0 || g.MaxPercent > 100 {
		ch.add("sync.guard.maxPercent", "must be between 0 and 100, got %d", g.MaxPercent)
	}
	checkPositive(ch, "sync.guard.window", g.Window)
	if g.Enabled && g.MaxUsers == 0 && g.MaxPercent == 0 {
		ch.add("sync.guard", "maxUsers and maxPercent are both 0, which would hold nothing: set a limit, or enabled: false")
	}
}

// checkList reports empty and duplicate entries of a list of names.
func checkList(ch *checker, path string, list []string, what string) {
	seen := map[string]bool{}
	for i, v := range list {
		p := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case v == "":
			ch.add(p, "empty %s", what)
		case seen[v]:
			ch.add(p, "duplicate %s %q", what, v)
		}
		seen[v] = true
	}
}

func (c *Config) validateLicensesAndRoles(ch *checker) {
	if len(c.Licenses.Priority) == 0 {
		ch.add("licenses.priority", "at least one license type is required")
	}
	checkList(ch, "licenses.priority", c.Licenses.Priority, "license type")
	checkList(ch, "roles", c.Roles, "role")
}

// MaxBatchSize is the most records Gainsight accepts in one batch call, the
// upper bound of gainsight.batchSize.
const MaxBatchSize = 50

// knownFieldTypes lists the custom field types in messages.
const knownFieldTypes = "boolean, multiPicklist, dropdown, string, number"

func (c *Config) validateCustomFields(ch *checker) {
	seen := map[string]int{}
	for i, f := range c.CustomFields {
		p := fmt.Sprintf("customFields[%d]", i)
		switch {
		case f.Name == "":
			ch.add(p+".name", "required")
		case !strings.HasSuffix(f.Name, "__gc") || f.Name == "__gc":
			ch.add(p+".name", "%q must end in \"__gc\" (Gainsight's custom field suffix)", f.Name)
		default:
			if j, dup := seen[f.Name]; dup {
				ch.add(p+".name", "duplicate custom field %q (also customFields[%d])", f.Name, j)
			} else {
				seen[f.Name] = i
			}
		}
		switch f.Type {
		case FieldDropdown, FieldMultiPicklist:
			checkList(ch, p+".values", f.Values, "value")
		case FieldBoolean, FieldString, FieldNumber:
			if len(f.Values) > 0 {
				ch.add(p+".values", "only dropdown and multiPicklist fields take allowed values")
			}
		case "":
			ch.add(p+".type", "required (one of %s)", knownFieldTypes)
		default:
			ch.add(p+".type", "%q is not one of %s", f.Type, knownFieldTypes)
		}
	}
}

// gainsightField classifies a Gainsight user record field name: settable
// through the API, read-only (or set through another endpoint), or
// unknown.
func gainsightField(name string) (known, settable bool) {
	switch name {
	case "FirstName", "LastName", "Name", "Email", "SFDCUserName", "SfdcUserId",
		"Title", "Timezone", "Locale", "Manager", "LicenseType", "SystemType",
		"CompanyID", "permissionBundles":
		return true, true
	case "Gsid", "IsActiveUser", "IsSuperAdmin":
		return true, false
	}
	return false, false
}

func (c *Config) validateMapping(ch *checker) {
	switch c.Mapping.UserNameField {
	case "SFDCUserName", "SfdcUserId", "Email":
	default:
		ch.add("mapping.userNameField", "%q is not one of SFDCUserName, SfdcUserId, Email", c.Mapping.UserNameField)
	}
	scimSeen := map[string]int{}
	targetSeen := map[string]int{}
	for i, m := range c.Mapping.Fields {
		p := fmt.Sprintf("mapping.fields[%d]", i)
		if m.SCIM == "" {
			ch.add(p+".scim", "required")
		} else if j, dup := scimSeen[strings.ToLower(m.SCIM)]; dup {
			ch.add(p+".scim", "%q is already mapped by mapping.fields[%d]", m.SCIM, j)
		} else {
			scimSeen[strings.ToLower(m.SCIM)] = i
		}
		if m.Gainsight == "" {
			ch.add(p+".gainsight", "required")
			continue
		}
		known, settable := gainsightField(m.Gainsight)
		switch {
		case known && !settable:
			ch.add(p+".gainsight", "%q cannot be set through the User Management API", m.Gainsight)
			continue
		case !known && !c.hasCustomField(m.Gainsight):
			ch.add(p+".gainsight", "%q is neither a Gainsight user field nor a configured custom field", m.Gainsight)
			continue
		}
		if j, dup := targetSeen[m.Gainsight]; dup {
			ch.add(p+".gainsight", "%q is already the target of mapping.fields[%d]", m.Gainsight, j)
		} else {
			targetSeen[m.Gainsight] = i
		}
	}
}

func (c *Config) hasCustomField(name string) bool {
	_, ok := c.CustomField(name)
	return ok
}

// isLicense reports whether lt is a configured license type.
func (c *Config) isLicense(lt string) bool {
	return lt == LicenseExternal || contains(c.Licenses.Priority, lt)
}

func (c *Config) validateDefaults(ch *checker) {
	d := c.Defaults
	if !c.isLicense(d.LicenseType) {
		ch.add("defaults.licenseType", "%q is not a configured license type", d.LicenseType)
	}
	switch d.SystemType {
	case "Internal", "External", "Guest Partner":
	default:
		ch.add("defaults.systemType", "%q is not one of Internal, External, Guest Partner", d.SystemType)
	}
	c.checkRoles(ch, "defaults.permissionBundles", d.PermissionBundles)
}

// checkRoles checks a list of permission bundles: no empty or repeated
// entries, and each a configured role when roles are configured.
func (c *Config) checkRoles(ch *checker, path string, roles []string) {
	seen := map[string]bool{}
	for i, r := range roles {
		p := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case r == "":
			ch.add(p, "empty role")
		case seen[r]:
			ch.add(p, "duplicate role %q", r)
		case len(c.Roles) > 0 && !contains(c.Roles, r):
			ch.add(p, "%q is not a configured role", r)
		}
		seen[r] = true
	}
}

func (c *Config) validateGroups(ch *checker) {
	names := map[string]int{}
	displayNames := map[string]int{}
	externalIDs := map[string]int{}
	attrs := map[string]int{}
	for i, g := range c.Groups {
		p := fmt.Sprintf("groups[%d]", i)
		if g.Name != "" {
			if j, dup := names[g.Name]; dup {
				ch.add(p+".name", "duplicate profile name %q (also groups[%d])", g.Name, j)
			} else {
				names[g.Name] = i
			}
		}
		if g.DisplayName == "" && g.ExternalID == "" {
			ch.add(p, "set displayName or externalId to say which pushed group the profile applies to")
		}
		if g.DisplayName != "" {
			key := strings.ToLower(g.DisplayName)
			if j, dup := displayNames[key]; dup {
				ch.add(p+".displayName", "%q is already matched by groups[%d]", g.DisplayName, j)
			} else {
				displayNames[key] = i
			}
		}
		if g.ExternalID != "" {
			if j, dup := externalIDs[g.ExternalID]; dup {
				ch.add(p+".externalId", "%q is already matched by groups[%d]", g.ExternalID, j)
			} else {
				externalIDs[g.ExternalID] = i
			}
		}
		if g.LicenseType != "" && !c.isLicense(g.LicenseType) {
			ch.add(p+".licenseType", "%q is not a configured license type", g.LicenseType)
		}
		c.checkRoles(ch, p+".roles", g.Roles)
		for _, name := range sortedKeys(g.Fields) {
			c.checkFieldValue(ch, p+".fields."+name, name, g.Fields[name])
		}
		key := profileAttrKey(g)
		if j, dup := attrs[key]; dup {
			ch.add(p, "same attributes as groups[%d]; Gainsight forbids two groups with identical attribute sets", j)
		} else {
			attrs[key] = i
		}
	}
}

// checkFieldValue checks one custom field value of a group profile against
// the field's configured type and allowed values.
func (c *Config) checkFieldValue(ch *checker, path, name string, v any) {
	f, ok := c.CustomField(name)
	if !ok {
		ch.add(path, "%q is not a configured custom field", name)
		return
	}
	switch f.Type {
	case FieldBoolean:
		if _, ok := v.(bool); !ok {
			ch.add(path, "want true or false for a boolean field, got %s", describe(v))
		}
	case FieldString:
		if _, ok := v.(string); !ok {
			ch.add(path, "want a string, got %s", describe(v))
		}
	case FieldDropdown:
		s, ok := v.(string)
		if !ok {
			ch.add(path, "want one value for a dropdown field, got %s", describe(v))
			return
		}
		if len(f.Values) > 0 && !contains(f.Values, s) {
			ch.add(path, "%q is not an allowed value (allowed: %s)", s, strings.Join(f.Values, ", "))
		}
	case FieldMultiPicklist:
		list, ok := stringList(v)
		if !ok {
			ch.add(path, "want a list of values for a multiPicklist field, got %s", describe(v))
			return
		}
		seen := map[string]bool{}
		for _, s := range list {
			switch {
			case seen[s]:
				ch.add(path, "duplicate value %q", s)
			case len(f.Values) > 0 && !contains(f.Values, s):
				ch.add(path, "%q is not an allowed value (allowed: %s)", s, strings.Join(f.Values, ", "))
			}
			seen[s] = true
		}
	case FieldNumber:
		switch v.(type) {
		case int, int64, uint64, float64:
		default:
			ch.add(path, "want a number, got %s", describe(v))
		}
	}
}

// stringList returns v as a list of strings when it is one ([]string, or a
// decoded []any of strings).
func stringList(v any) ([]string, bool) {
	switch l := v.(type) {
	case []string:
		return l, true
	case []any:
		out := make([]string, 0, len(l))
		for _, item := range l {
			s, ok := item.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}

func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "nothing"
	case string:
		return fmt.Sprintf("string %q", x)
	case bool:
		return fmt.Sprintf("boolean %t", x)
	case int, int64, uint64, float64:
		return fmt.Sprintf("number %v", x)
	case []string, []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("%T", v)
}

func (c *Config) validateGoogle(ch *checker) {
	g := c.Google
	if g == nil {
		return
	}
	if g.CredentialsFile == "" {
		ch.add("google.credentialsFile", "required")
	}
	if g.Subject == "" {
		ch.add("google.subject", "required (the admin the service account impersonates)")
	}
	if g.Customer == "" && g.Domain == "" {
		ch.add("google", "set customer or domain")
	}
	if g.Endpoint != "" {
		checkURL(ch, "google.endpoint", g.Endpoint)
	}
	checkPositive(ch, "google.interval", g.Interval)
	switch g.Scope {
	case "":
		if len(g.OrgUnits) > 0 && len(g.UserGroups) > 0 {
			ch.add("google.scope", "required when both orgUnits and userGroups are set (one of all, orgUnits, userGroups)")
		}
	case GoogleScopeAll, GoogleScopeOrgUnits, GoogleScopeUserGroups:
	default:
		ch.add("google.scope", "%q is not one of all, orgUnits, userGroups", g.Scope)
	}
	switch {
	case g.Scope == GoogleScopeOrgUnits && len(g.OrgUnits) == 0:
		ch.add("google.orgUnits", "at least one org unit is required when scope is orgUnits")
	case g.Scope == GoogleScopeUserGroups && len(g.UserGroups) == 0:
		ch.add("google.userGroups", "at least one group is required when scope is userGroups")
	}
	checkList(ch, "google.orgUnits", g.OrgUnits, "org unit")
	for i, ou := range g.OrgUnits {
		if ou != "" && !strings.HasPrefix(ou, "/") {
			ch.add(fmt.Sprintf("google.orgUnits[%d]", i), "%q must be an org unit path starting with \"/\"", ou)
		}
	}
	checkList(ch, "google.userGroups", g.UserGroups, "group")
	checkList(ch, "google.groupPatterns", g.GroupPatterns, "pattern")
	for i, p := range g.GroupPatterns {
		if _, err := path.Match(p, ""); err != nil {
			ch.add(fmt.Sprintf("google.groupPatterns[%d]", i), "%q is not a valid glob: %v", p, err)
		}
	}
	seen := map[string]int{}
	for i, a := range g.Attributes {
		p := fmt.Sprintf("google.attributes[%d]", i)
		if a.Google == "" {
			ch.add(p+".google", "required")
		}
		switch key := strings.ToLower(a.SCIM); {
		case a.SCIM == "":
			ch.add(p+".scim", "required")
		case key == "id" || key == "username" || key == "externalid" || key == "active" || key == "emails":
			ch.add(p+".scim", "%q is set by the Google source itself", a.SCIM)
		default:
			if j, dup := seen[key]; dup {
				ch.add(p+".scim", "%q is already the target of google.attributes[%d]", a.SCIM, j)
			} else {
				seen[key] = i
			}
		}
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
