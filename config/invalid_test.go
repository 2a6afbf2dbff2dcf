package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
)

// testEnv is the environment the testdata files are parsed with.
func testEnv(name string) (string, bool) {
	env := map[string]string{"SCIM_BRIDGE_TEST_TENANT": "acme"}
	v, ok := env[name]
	return v, ok
}

func TestInvalidConfigs(t *testing.T) {
	tests := map[string][]string{
		"invalid-budget.yaml": {
			`gainsight.budget.reservedPercent: must be between 0 and 50, got 60`,
			`gainsight.budget.windowDay: must not be shorter than gainsight.budget.windowHour (2h0m0s), got 1h0m0s`,
			`sync.snapshot: "sometimes" is not one of auto, always, off`,
			`sync.snapshotMaxAge: must be positive, got 0s`,
		},
		"invalid-custom-fields.yaml": {
			`customFields[0].name: "Region" must end in "__gc" (Gainsight's custom field suffix)`,
			`customFields[1].type: "picklist" is not one of boolean, multiPicklist, dropdown, string, number`,
			`customFields[2].name: duplicate custom field "Region__gc" (also customFields[1])`,
			`customFields[2].values[2]: duplicate value "US"`,
			`customFields[3].values: only dropdown and multiPicklist fields take allowed values`,
			`customFields[4].type: required (one of boolean, multiPicklist, dropdown, string, number)`,
		},
		"invalid-console.yaml": {
			`audit.retention: must not be negative, got -1h0m0s`,
			`audit.maxRows: must not be negative, got -5`,
			`audit.pruneInterval: must be positive, got 0s`,
			`audit.personalFields[1]: duplicate field "EmployeeNumber__gc"`,
			`console.tokens[0].name: required: the audit trail records it`,
			`console.tokens[1].sha256: must be 64 hexadecimal characters, the SHA-256 of the token (see scim-bridge hash-token)`,
			`console.sessionKey: must be at least 32 characters, got 9`,
			`console.sessionTTL: must be positive, got 0s`,
			`console.forwardAuth.userHeader: must be an HTTP header name, got "X Forwarded User"`,
			`console.forwardAuth.trustedProxies[1]: "proxy.example.com" is not an IP address or CIDR range`,
		},
		"invalid-console-signin.yaml": {
			`console.enabled: needs a way to sign in: console.tokens or console.forwardAuth.enabled`,
		},
		"invalid-duplicate-key.yaml": {
			`line 8: mapping key "batchSize" already defined at line 7`,
			`line 16: mapping key "Region__gc" already defined at line 15`,
		},
		"invalid-env.yaml": {
			`scim.tokens[0].sha256: environment variable "SCIM_BRIDGE_TEST_TOKEN_HASH" is not set (line 3)`,
			`gainsight.accessKey: environment variable "SCIM_BRIDGE_TEST_ACCESS_KEY" is not set (line 6)`,
			`gainsight.batchSize: unterminated variable reference "${SCIM_BRIDGE_TEST_BATCH" (line 7)`,
			`log.level: invalid variable reference "${1LEVEL}" (line 9)`,
		},
		"invalid-gainsight.yaml": {
			`gainsight.baseURL: must be an absolute http or https URL, got "tenant.example.com"`,
			`gainsight.api: "v2" is not one of services, users-v1`,
			`gainsight.accessKey: required (set accessKey or accessKeyFile)`,
			`gainsight.timeout: must be positive, got 0s`,
			`gainsight.budget.perHour: must not be negative (0 means unlimited), got -1`,
			`gainsight.budget.perDay: must not be negative (0 means unlimited), got -5`,
			`gainsight.batchSize: must be between 1 and 50, got 80`,
			`gainsight.concurrency: must be at least 1, got 0`,
		},
		"invalid-google.yaml": {
			`google.credentialsFile: required`,
			`google.subject: required (the admin the service account impersonates)`,
			`google: set customer or domain`,
			`google.endpoint: must be an absolute http or https URL, got "directory.example.com"`,
			`google.interval: must be positive, got -1m0s`,
		},
		"invalid-google-scope.yaml": {
			`google.scope: "everyone" is not one of all, orgUnits, userGroups`,
			`google.orgUnits[2]: duplicate org unit "/Sales"`,
			`google.orgUnits[1]: "Sales" must be an org unit path starting with "/"`,
			`google.userGroups[0]: empty group`,
			`google.groupPatterns[0]: "gainsight-[" is not a valid glob: syntax error in pattern`,
			`google.attributes[1].scim: "URN:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter" is already the target of google.attributes[0]`,
			`google.attributes[2].scim: "userName" is set by the Google source itself`,
			`google.attributes[3].google: required`,
		},
		"invalid-group-fields.yaml": {
			`groups[0].fields.Beta__gc: want true or false for a boolean field, got string "yes"`,
			`groups[0].fields.Region__gc: want a list of values for a multiPicklist field, got string "US"`,
			`groups[1].fields.Region__gc: "Mars" is not an allowed value (allowed: US, EU, APAC)`,
			`groups[1].fields.Region__gc: duplicate value "US"`,
			`groups[1].fields.Team__gc: "North" is not an allowed value (allowed: East, West)`,
			`groups[2].fields.Colour__gc: "Colour__gc" is not a configured custom field`,
			`groups[2].fields.Cost_Center__gc: want a string, got number 42`,
			`groups[2].fields.Seats__gc: want a number, got string "ten"`,
			`groups[2].fields.Team__gc: want one value for a dropdown field, got a list`,
		},
		"invalid-group-matchers.yaml": {
			`groups[1].name: duplicate profile name "admins" (also groups[0])`,
			`groups[1].displayName: "gainsight admins" is already matched by groups[0]`,
			`groups[3].externalId: "00g1" is already matched by groups[2]`,
			`groups[4]: set displayName or externalId to say which pushed group the profile applies to`,
		},
		"invalid-identical-profiles.yaml": {
			`groups[1]: same attributes as groups[0]; Gainsight forbids two groups with identical attribute sets`,
			`groups[3]: same attributes as groups[2]; Gainsight forbids two groups with identical attribute sets`,
		},
		"invalid-licenses.yaml": {
			`licenses.priority[2]: empty license type`,
			`licenses.priority[3]: duplicate license type "Viewer"`,
			`defaults.licenseType: "Viewer_Analytics" is not a configured license type`,
			`defaults.systemType: "Partner" is not one of Internal, External, Guest Partner`,
			`groups[2].licenseType: "Ful" is not a configured license type`,
		},
		"invalid-listen.yaml": {
			`listen.scim: invalid address "localhost": want host:port`,
			`listen.admin: invalid port "99999" in "127.0.0.1:99999"`,
			`listen.maxHeaderBytes: must be between 4096 and 1048576, got 100`,
			`listen.maxConnections: must be between 1 and 1048576, got 0`,
		},
		"invalid-limits.yaml": {
			`scim.limits.maxValuesPerAttribute: must be between 1 and 1048576, got 0`,
			`scim.limits.maxDocumentBytes: must be between 1024 and 16777216, got 100`,
			`scim.limits.maxPatchOperations: must be between 1 and 1048576, got -1`,
			`scim.limits.maxFilterLength: must be between 2112 and 1048576, got 100`,
			`scim.limits.maxFilterDepth: must be between 1 and 1000, got 0`,
			`scim.limits.maxFilterCandidates: must be between 1 and 1073741824, got 0`,
		},
		"invalid-mapping.yaml": {
			`mapping.userNameField: "Name" is not one of SFDCUserName, SfdcUserId, Email`,
			`mapping.fields[1].gainsight: "Gsid" cannot be set through the User Management API`,
			`mapping.fields[2].scim: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:Department" is already mapped by mapping.fields[0]`,
			`mapping.fields[2].gainsight: "Division__gc" is neither a Gainsight user field nor a configured custom field`,
			`mapping.fields[3].gainsight: "Department__gc" is already the target of mapping.fields[0]`,
			`mapping.fields[4].scim: required`,
			`mapping.fields[4].gainsight: required`,
		},
		"invalid-multi-document.yaml": {
			`line 7: a configuration file holds exactly one YAML document`,
		},
		"invalid-no-tokens.yaml": {
			`scim.tokens: at least one token is required`,
		},
		"invalid-roles.yaml": {
			`gainsight.defaultRole: "Owner" is not a configured role`,
			`roles[3]: duplicate role "Admin"`,
			`defaults.permissionBundles[1]: "Guest" is not a configured role`,
			`groups[0].roles[1]: "Superuser" is not a configured role`,
			`groups[0].roles[2]: duplicate role "Admin"`,
		},
		"invalid-same-listen.yaml": {
			`listen.admin: must differ from listen.scim`,
		},
		"invalid-secrets.yaml": {
			`scim.tokens[0].sha256: set either sha256 or sha256File, not both`,
			`scim.tokens[1].sha256File: read secret: open testdata/secrets/missing.sha256: no such file or directory`,
			`gainsight.accessKeyFile: secret file testdata/secrets/empty.txt is empty`,
			`store.postgres.dsn: set either dsn or dsnFile, not both`,
		},
		"invalid-store-postgres.yaml": {
			`store.postgres.dsn: required when store.type is postgres (set dsn or dsnFile)`,
			`store.postgres.maxConns: must be at least 1, got 0`,
			`store.postgres.statementTimeout: must be positive, got -1s`,
		},
		"invalid-store-type.yaml": {
			`store.type: "mysql" is not one of sqlite, postgres`,
		},
		"invalid-guard.yaml": {
			`sync.guard: maxUsers and maxPercent are both 0, which would hold nothing: set a limit, or enabled: false`,
		},
		"invalid-sync.yaml": {
			`sync.batchWindow: must not be negative, got -2s`,
			`sync.minBackoff: must be positive, got 0s`,
			`sync.maxBackoff: must not be less than sync.minBackoff (0s), got -1m0s`,
			`sync.lease: must be positive, got 0s`,
			`sync.reconcileInterval: must not be negative, got -24h0m0s`,
			`sync.mode: "dry-run" is not one of live, shadow`,
			`sync.guard.maxUsers: must not be negative, got -5`,
			`sync.guard.maxPercent: must be between 0 and 100, got 120`,
			`sync.guard.window: must be positive, got 0s`,
			`deprovision.onNoProfiledGroups: "delete" is not one of keep, deactivate`,
			`log.level: "verbose" is not one of debug, info, warn, error`,
		},
		"invalid-tokens.yaml": {
			`scim.basePath: must start with "/", got "scim/v2/"`,
			`scim.tokens[0].sha256: must be 64 hexadecimal characters, the SHA-256 of the token (see scim-bridge hash-token)`,
			`scim.tokens[1].name: duplicate token name "okta" (also scim.tokens[0])`,
			`scim.tokens[1].sha256: must be 64 hexadecimal characters, the SHA-256 of the token (see scim-bridge hash-token)`,
			`scim.tokens[2].sha256: required (set sha256 or sha256File)`,
			`scim.tokens[4].sha256: same token as scim.tokens[3]`,
			`scim.maxBodyBytes: must be positive, got 0`,
			`scim.externalURL: must be an absolute http or https URL, got "scim.example.com/scim/v2"`,
		},
		"invalid-types.yaml": {
			"line 7: cannot unmarshal !!int `30` into time.Duration",
			"line 8: cannot unmarshal !!str `many` into int",
			"line 10: cannot unmarshal !!str `five mi...` into time.Duration",
		},
		"invalid-unknown-key.yaml": {
			`line 2: field tokenz not found in type config.SCIM`,
			`line 6: field gainsigth not found in type config.Config`,
			`line 13: field licenceType not found in type config.GroupProfile`,
		},
		"invalid-users-v1.yaml": {
			`gainsight.baseURL: must be an absolute http or https URL, got "ftp://tenant.example.com"`,
			`gainsight.batchSize: must be between 1 and 50, got 0`,
			`gainsight.defaultRole: required when api is users-v1 (that API needs a role on create)`,
		},
	}

	// Every invalid-*.yaml file must have its expected errors here.
	files, err := filepath.Glob("testdata/invalid-*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var names, want []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	for name := range tests {
		want = append(want, name)
	}
	sort.Strings(want)
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("testdata files %v, table covers %v", names, want)
	}

	for name, wantErrs := range tests {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := parse(data, "testdata", testEnv)
			if err == nil {
				t.Fatalf("parse succeeded: %+v", cfg)
			}
			var verrs ValidationErrors
			if !errors.As(err, &verrs) {
				t.Fatalf("error %T %v is not ValidationErrors", err, err)
			}
			if got := verrs.Strings(); !reflect.DeepEqual(got, wantErrs) {
				t.Errorf("errors:\n%s\nwant:\n%s", join(got), join(wantErrs))
			}
		})
	}
}

func join(l []string) string {
	out := ""
	for _, s := range l {
		out += "  " + s + "\n"
	}
	return out
}
