package config

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const (
	exampleToken     = "example-token-change-me"
	exampleTokenHash = "33008ea374a93b18297c7ff15b324d599c30cbeac8a9073b82f7837fe0049e27"
)

// minimal is the smallest valid configuration file.
const minimal = `
scim:
  tokens:
    - sha256: ` + exampleTokenHash + `
gainsight:
  baseURL: https://tenant.example.com
  accessKey: test-access-key
`

func noEnv(string) (string, bool) { return "", false }

func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func TestDefault(t *testing.T) {
	d := Default()
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"listen.scim", d.Listen.SCIM, "127.0.0.1:8080"},
		{"listen.admin", d.Listen.Admin, "127.0.0.1:9090"},
		{"scim.basePath", d.SCIM.BasePath, "/scim/v2"},
		{"scim.maxBodyBytes", d.SCIM.MaxBodyBytes, int64(1 << 20)},
		{"listen.maxHeaderBytes", d.Listen.MaxHeaderBytes, 32 << 10},
		{"listen.maxConnections", d.Listen.MaxConnections, 512},
		{"scim.limits", d.SCIM.Limits, SCIMLimits{
			MaxValuesPerAttribute: 100, MaxDocumentBytes: 32 << 10, MaxPatchOperations: 1000,
			MaxFilterLength: 4096, MaxFilterDepth: 16, MaxFilterCandidates: 10000,
		}},
		{"gainsight.api", d.Gainsight.API, "services"},
		{"gainsight.timeout", d.Gainsight.Timeout, 30 * time.Second},
		{"gainsight.budget", d.Gainsight.Budget, Budget{PerHour: 100, PerDay: 1000, ReservedPercent: 10, WindowHour: time.Hour, WindowDay: 24 * time.Hour}},
		{"gainsight.batchSize", d.Gainsight.BatchSize, 50},
		{"gainsight.concurrency", d.Gainsight.Concurrency, 4},
		{"store.type", d.Store.Type, "sqlite"},
		{"store.sqlite.path", d.Store.SQLite.Path, "./scim-bridge.db"},
		{"store.postgres.maxConns", d.Store.Postgres.MaxConns, 10},
		{"store.postgres.statementTimeout", d.Store.Postgres.StatementTimeout, 10 * time.Second},
		{"sync.batchWindow", d.Sync.BatchWindow, 2 * time.Second},
		{"sync.minBackoff", d.Sync.MinBackoff, 30 * time.Second},
		{"sync.maxBackoff", d.Sync.MaxBackoff, time.Hour},
		{"sync.lease", d.Sync.Lease, 5 * time.Minute},
		{"sync.reconcileInterval", d.Sync.ReconcileInterval, 24 * time.Hour},
		{"sync.tombstoneRetention", d.Sync.TombstoneRetention, 90 * 24 * time.Hour},
		{"sync.snapshot", d.Sync.Snapshot, "auto"},
		{"sync.snapshotMaxAge", d.Sync.SnapshotMaxAge, 24 * time.Hour},
		{"mapping.userNameField", d.Mapping.UserNameField, "SFDCUserName"},
		{"defaults.licenseType", d.Defaults.LicenseType, "Viewer"},
		{"defaults.systemType", d.Defaults.SystemType, "Internal"},
		{"licenses.priority", d.Licenses.Priority, []string{"Internal_Collaborator", "Viewer", "Viewer_Analytics", "Full"}},
		{"deprovision.onNoProfiledGroups", d.Deprovision.OnNoProfiledGroups, "keep"},
		{"log.level", d.Log.Level, "info"},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}

	// The defaults lack exactly what every deployment must provide.
	err := d.Validate()
	var verrs ValidationErrors
	if !errors.As(err, &verrs) {
		t.Fatalf("Default().Validate() = %v, want ValidationErrors", err)
	}
	want := []string{
		"scim.tokens: at least one token is required",
		"gainsight.baseURL: required",
		"gainsight.accessKey: required (set accessKey or accessKeyFile)",
	}
	if got := verrs.Strings(); !reflect.DeepEqual(got, want) {
		t.Errorf("Default().Validate():\n%s\nwant:\n%s", join(got), join(want))
	}

	// Each call returns an independent value.
	d.Licenses.Priority[0] = "changed"
	if Default().Licenses.Priority[0] != "Internal_Collaborator" {
		t.Error("Default shares state between calls")
	}
}

func TestParseMinimalAppliesDefaults(t *testing.T) {
	cfg, err := parse([]byte(minimal), t.TempDir(), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.SCIM.Tokens = []Token{{SHA256: exampleTokenHash}}
	want.Gainsight.BaseURL = "https://tenant.example.com"
	want.Gainsight.AccessKey = "test-access-key"
	if !reflect.DeepEqual(*cfg, want) {
		t.Errorf("parsed\n%+v\nwant\n%+v", *cfg, want)
	}
}

func TestParseOverridesDefaults(t *testing.T) {
	cfg, err := parse([]byte(minimal+`
licenses:
  priority: [Viewer, Full]
sync:
  batchWindow: 0s
google:
  credentialsFile: sa.json
  subject: admin@example.com
  domain: example.com
`), "/etc/scim-bridge", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"Viewer", "Full"}; !reflect.DeepEqual(cfg.Licenses.Priority, want) {
		t.Errorf("priority = %v, want %v (a list replaces the default)", cfg.Licenses.Priority, want)
	}
	if cfg.Sync.BatchWindow != 0 {
		t.Errorf("batchWindow = %s, want 0", cfg.Sync.BatchWindow)
	}
	if cfg.Sync.MinBackoff != 30*time.Second {
		t.Errorf("minBackoff = %s, want the default 30s", cfg.Sync.MinBackoff)
	}
	if cfg.Google.Interval != 5*time.Minute {
		t.Errorf("google.interval = %s, want the default 5m", cfg.Google.Interval)
	}
	if want := filepath.Join("/etc/scim-bridge", "sa.json"); cfg.Google.CredentialsFile != want {
		t.Errorf("google.credentialsFile = %q, want %q", cfg.Google.CredentialsFile, want)
	}
}

func TestExampleConfig(t *testing.T) {
	t.Setenv("SCIM_BRIDGE_GAINSIGHT_ACCESS_KEY", "example-access-key")
	cfg, err := Load("example.yaml")
	if err != nil {
		t.Fatalf("example.yaml: %v", err)
	}
	if cfg.Gainsight.AccessKey != "example-access-key" {
		t.Errorf("accessKey = %q, want the environment variable's value", cfg.Gainsight.AccessKey)
	}
	hashes, err := cfg.TokenHashes()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(exampleToken))
	if len(hashes) != 2 || !bytes.Equal(hashes[0], sum[:]) {
		t.Errorf("token hashes = %x, want 2 with the first the hash of %q", hashes, exampleToken)
	}
	sum = sha256.Sum256([]byte("rotated-token-change-me"))
	if len(hashes) == 2 && !bytes.Equal(hashes[1], sum[:]) {
		t.Errorf("second token hash = %x, want the hash of the rotated token", hashes[1])
	}
	if cfg.Gainsight.API != APIServices || cfg.Store.Type != StoreSQLite {
		t.Errorf("api %q store %q, want services and sqlite", cfg.Gainsight.API, cfg.Store.Type)
	}

	tests := []struct {
		displayName, externalID string
		want                    GroupProfile
	}{
		{"Gainsight Viewers", "", GroupProfile{Name: "viewers", DisplayName: "Gainsight Viewers", LicenseType: "Viewer"}},
		{"gainsight admins", "", GroupProfile{Name: "admins", DisplayName: "Gainsight Admins", LicenseType: "Full", Roles: []string{"Admin"}}},
		{"Managers (any name)", "00g1managers", GroupProfile{Name: "managers", ExternalID: "00g1managers", Roles: []string{"Manager"}}},
		{"Region US", "", GroupProfile{Name: "region-us", DisplayName: "Region US", Fields: map[string]any{"Region__gc": []string{"US"}}}},
		{"Region EU", "", GroupProfile{Name: "region-eu", DisplayName: "Region EU", SuperAdmin: new(false), Fields: map[string]any{"Region__gc": []string{"EU"}}}},
	}
	for _, tt := range tests {
		got, ok := cfg.ProfileFor(tt.displayName, tt.externalID)
		if !ok || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ProfileFor(%q, %q) = %+v, %v; want %+v", tt.displayName, tt.externalID, got, ok, tt.want)
		}
	}
	if len(cfg.Groups) != len(tests) {
		t.Errorf("%d group profiles, want %d", len(cfg.Groups), len(tests))
	}
	if f, ok := cfg.CustomField("Region__gc"); !ok || f.Type != FieldMultiPicklist || !reflect.DeepEqual(f.Values, []string{"US", "EU", "APAC"}) {
		t.Errorf("Region__gc = %+v, %v", f, ok)
	}
	want := []FieldMapping{{SCIM: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", Gainsight: "Department__gc"}}
	if !reflect.DeepEqual(cfg.Mapping.Fields, want) {
		t.Errorf("mapping.fields = %+v, want %+v", cfg.Mapping.Fields, want)
	}

	// Printing the example masks the access key taken from the environment.
	var out bytes.Buffer
	if err := cfg.Print(&out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "example-access-key") {
		t.Errorf("printed config contains the access key:\n%s", out.String())
	}
}

func TestExampleConfigNeedsAccessKey(t *testing.T) {
	data, err := os.ReadFile("example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	line := 1 + bytes.Count(data[:bytes.Index(data, []byte("accessKey: ${"))], []byte("\n"))
	_, err = parse(data, ".", noEnv)
	want := fmt.Sprintf(`gainsight.accessKey: environment variable "SCIM_BRIDGE_GAINSIGHT_ACCESS_KEY" is not set (line %d)`, line)
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

func TestEnvExpansion(t *testing.T) {
	env := envMap(map[string]string{
		"KEY":     "k3y-with: yaml # chars",
		"TENANT":  "acme",
		"BATCH":   "20",
		"TIMEOUT": "45s",
		"EMPTY":   "",
		"NAME":    "Gainsight Admins",
	})
	tests := []struct {
		name  string
		yaml  string
		check func(*Config) any
		want  any
	}{
		{"whole value", "gainsight:\n  accessKey: ${KEY}\n", func(c *Config) any { return string(c.Gainsight.AccessKey) }, "k3y-with: yaml # chars"},
		{"inside a value", "gainsight:\n  baseURL: https://${TENANT}.gainsightcloud.com\n", func(c *Config) any { return c.Gainsight.BaseURL }, "https://acme.gainsightcloud.com"},
		{"number", "gainsight:\n  batchSize: ${BATCH}\n", func(c *Config) any { return c.Gainsight.BatchSize }, 20},
		{"duration", "gainsight:\n  timeout: ${TIMEOUT}\n", func(c *Config) any { return c.Gainsight.Timeout }, 45 * time.Second},
		{"quoted stays a string", "groups:\n  - displayName: \"${BATCH}\"\n    licenseType: Full\n", func(c *Config) any { return c.Groups[0].DisplayName }, "20"},
		{"in a list", "roles: [\"${NAME}\", Viewer]\n", func(c *Config) any { return c.Roles }, []string{"Gainsight Admins", "Viewer"}},
		{"escaped", "scim:\n  externalURL: https://x.example.com/$${TENANT}\n", func(c *Config) any { return c.SCIM.ExternalURL }, "https://x.example.com/${TENANT}"},
		{"lone dollar kept", "gainsight:\n  accessKey: a$b$\n", func(c *Config) any { return string(c.Gainsight.AccessKey) }, "a$b$"},
		{"set but empty", "scim:\n  externalURL: \"${EMPTY}\"\n", func(c *Config) any { return c.SCIM.ExternalURL }, ""},
		{"keys are not expanded", "customFields:\n  - name: Team__gc\n    type: string\ngroups:\n  - displayName: ${NAME}\n    fields:\n      Team__gc: ${TENANT}\n", func(c *Config) any { return c.Groups[0].Fields }, map[string]any{"Team__gc": "acme"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Default()
			errs, err := decode([]byte(tt.yaml), &cfg, env)
			if err != nil || len(errs) > 0 {
				t.Fatalf("decode:\n%s\n%v %v", tt.yaml, err, errs)
			}
			if got := tt.check(&cfg); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}
