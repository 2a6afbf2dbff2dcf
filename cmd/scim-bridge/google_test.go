package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/source/google/googletest"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

func TestGoogleCheck(t *testing.T) {
	tests := []struct {
		name       string
		tokenError string
		fault      *googletest.Fault
		wantErr    string
		wantOut    []string
	}{
		{name: "plan printed", wantOut: []string{
			"credentials  ok: admin@example.com can list users, groups and members",
			"in scope     2 users, 1 groups",
			"next poll    2 created, 0 updated, 0 deactivated, 0 deprovisioned, 1 groups changed, 0 skipped",
			"created",
			"ann@example.com",
			"new in scope, suspended",
		}},
		{name: "no delegation", tokenError: "unauthorized_client", wantErr: "domain-wide delegation is missing"},
		{name: "missing member scope", fault: &googletest.Fault{Kind: googletest.KindMembers, Status: 403, Reason: "insufficientPermissions", Message: "Request had insufficient authentication scopes."},
			wantErr: "lacks the scope https://www.googleapis.com/auth/admin.directory.group.member.readonly"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tokens := &googletest.TokenServer{}
			googletest.WriteServiceAccountKey(t, dir, tokens.Start(t))
			fake := googletest.New()
			fake.PutUser(googletest.User{Email: "ann@example.com", GivenName: "Ann", Suspended: true})
			fake.PutUser(googletest.User{Email: "ben@example.com", GivenName: "Ben"})
			fake.PutGroup(googletest.Group{Email: "gs@example.com", Name: "Gainsight Users"})
			fake.AddMember("gs@example.com", googletest.MemberUser, "ben@example.com")
			if tt.tokenError != "" {
				tokens.Fail(tt.tokenError)
			}
			if tt.fault != nil {
				fake.Fail(*tt.fault)
			}
			dbPath := filepath.Join(dir, "bridge.db")
			cfgPath := filepath.Join(dir, "config.yaml")
			cfgYAML := fmt.Sprintf(`
scim:
  tokens: [{name: test, sha256: %q}]
gainsight:
  baseURL: https://tenant.example.com
  accessKey: key
store:
  sqlite: {path: %q}
log: {level: error}
google:
  credentialsFile: service-account.json
  subject: admin@example.com
  domain: example.com
  endpoint: %q
  groupPatterns: ["gainsight *"]
`, config.HashToken("tok"), dbPath, fake.Start(t))
			if err := os.WriteFile(cfgPath, []byte(cfgYAML), 0o600); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			err := dispatch(context.Background(), []string{"google-check", "--config", cfgPath}, testEnv(&stdout, &stderr))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("google-check = %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("google-check: %v\n%s", err, stderr.String())
			}
			for _, s := range tt.wantOut {
				if !strings.Contains(stdout.String(), s) {
					t.Errorf("output lacks %q:\n%s", s, stdout.String())
				}
			}
			// Nothing was written: a second check plans the same.
			stdout.Reset()
			if err := dispatch(context.Background(), []string{"google-check", "--config", cfgPath}, testEnv(&stdout, &stderr)); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(stdout.String(), "2 created") {
				t.Errorf("second check: %s", stdout.String())
			}
		})
	}
}
