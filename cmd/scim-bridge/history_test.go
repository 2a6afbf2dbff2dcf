package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

func TestHistoryCommand(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "bridge.db")
	cfgPath := filepath.Join(dir, "config.yaml")
	yaml := fmt.Sprintf("scim:\n  tokens: [{name: test, sha256: %q}]\ngainsight:\n  baseURL: http://127.0.0.1:1\n  accessKey: key\nstore:\n  sqlite: {path: %q}\n",
		config.HashToken("tok"), dbPath)
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	st, err := openStore(t.Context(), cfg, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	u, err := st.CreateUser(t.Context(), store.User{UserName: "jdoe", Active: true, Doc: map[string]any{"userName": "jdoe"}})
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-48 * time.Hour).UTC().Truncate(time.Second)
	if err := st.AppendAudit(t.Context(), []store.AuditEntry{
		{Time: old, UserID: u.ID, UserName: "jdoe", Op: store.AuditUserCreated, Source: store.AuditSourceSCIM, Actor: "okta", RequestID: "req-1", Result: store.AuditOK},
		{UserID: u.ID, UserName: "jdoe", Op: store.AuditUpdate, Source: store.AuditSourceSync, Actor: "replica-a", GSID: "GS-9",
			RequestID: "gs-req-2", Result: store.AuditOK, Changes: []store.AuditChange{
				{Field: "LicenseType", Old: "Viewer", New: "Full"}, {Field: "Email", Masked: true}}},
		{UserID: "other", UserName: "someone", Op: store.AuditCreate, Result: store.AuditOK},
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := dispatch(t.Context(), append([]string{"history", "--config", cfgPath}, args...), testEnv(&out, &errOut))
		return out.String(), err
	}
	out, err := run("jdoe")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"update", "sync: replica-a", "GS-9", "gs-req-2", `LicenseType: "Viewer" → "Full"`, "Email: changed", "user-created", "scim: okta", "req-1"} {
		if !strings.Contains(out, want) {
			t.Errorf("history lacks %q:\n%s", want, out)
		}
	}
	if strings.Index(out, "update") > strings.Index(out, "user-created") || strings.Contains(out, "someone") {
		t.Errorf("want jdoe's entries only, newest first:\n%s", out)
	}
	out, err = run("--since", "24h", "--json", u.ID)
	if err != nil {
		t.Fatal(err)
	}
	var es []store.AuditEntry
	if err := json.Unmarshal([]byte(out), &es); err != nil || len(es) != 1 || es[0].Op != store.AuditUpdate {
		t.Errorf("--since 24h --json: %v %s", err, out)
	}
	if out, err = run("--since", old.Add(-time.Minute).Format(time.RFC3339), "jdoe"); err != nil || !strings.Contains(out, "user-created") {
		t.Errorf("--since a time: %v\n%s", err, out)
	}
	if _, err := run("--since", "yesterday", "jdoe"); err == nil || !strings.Contains(err.Error(), "neither a duration") {
		t.Errorf("bad --since: %v", err)
	}
	if out, err := run("nobody"); err != nil || !strings.Contains(out, "no audit entries for nobody") {
		t.Errorf("unknown user: %v %q", err, out)
	}
}
