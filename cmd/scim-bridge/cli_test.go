package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

// TestExitStatusAndHelp checks what a user sees for -h and for a mistyped
// flag: the command's own usage once, and the conventional exit status.
func TestExitStatusAndHelp(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr []string
		notStderr  []string
	}{
		{
			name:       "command help",
			args:       []string{"explain", "-h"},
			wantCode:   0,
			wantStderr: []string{"usage: scim-bridge explain --config FILE [--json] USER", "print JSON"},
			notStderr:  []string{"commands:", "scim-bridge: "},
		},
		{
			name:       "help of a command without flags",
			args:       []string{"hash-token", "--help"},
			wantCode:   0,
			wantStderr: []string{"usage: scim-bridge hash-token [TOKEN]"},
			notStderr:  []string{"flags:", "commands:"},
		},
		{
			name:       "unknown flag",
			args:       []string{"reconcile", "--drfit"},
			wantCode:   2,
			wantStderr: []string{"flag provided but not defined: -drfit", "usage: scim-bridge reconcile --config FILE [--drift] [--timeout D]"},
			notStderr:  []string{"commands:"},
		},
		{
			name:       "unknown command",
			args:       []string{"frobnicate"},
			wantCode:   2,
			wantStderr: []string{`unknown command "frobnicate"`, "commands:", "--demo [--listen ADDR]", "reconcile --config FILE [--drift]"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(tt.args, &out, &errOut)
			if code != tt.wantCode {
				t.Errorf("exit status %d, want %d; stderr:\n%s", code, tt.wantCode, errOut.String())
			}
			for _, want := range tt.wantStderr {
				if strings.Count(errOut.String(), want) != 1 {
					t.Errorf("stderr should hold %q once:\n%s", want, errOut.String())
				}
			}
			for _, not := range tt.notStderr {
				if strings.Contains(errOut.String(), not) {
					t.Errorf("stderr holds %q:\n%s", not, errOut.String())
				}
			}
		})
	}
}

// TestExplainAndReconcileFindTheStore checks that explain and reconcile
// say which store they looked in, and never create an empty one in the
// wrong place.
func TestExplainAndReconcileFindTheStore(t *testing.T) {
	dir := t.TempDir()
	writeConfig := func(name, dbPath string) string {
		t.Helper()
		path := filepath.Join(dir, name)
		yaml := fmt.Sprintf(`
scim:
  tokens: [{name: test, sha256: %q}]
gainsight:
  baseURL: http://127.0.0.1:1
  accessKey: key
store:
  sqlite: {path: %q}
`, config.HashToken("tok"), dbPath)
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	dbPath := filepath.Join(dir, "bridge.db")
	existing := writeConfig("existing.yaml", dbPath)
	missingDB := filepath.Join(dir, "elsewhere", "bridge.db")
	missing := writeConfig("missing.yaml", missingDB)

	cfg, err := config.Load(existing)
	if err != nil {
		t.Fatal(err)
	}
	st, err := openStore(t.Context(), cfg, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "unknown user names the store", args: []string{"explain", "--config", existing, "nobody@example.com"},
			wantErr: `explain: no user "nobody@example.com" (looked up as SCIM id, userName and GSID) in the SQLite store ` + dbPath},
		{name: "flags after the user", args: []string{"explain", "nobody@example.com", "--config", existing, "--json"},
			wantErr: `no user "nobody@example.com"`},
		{name: "explain without a store", args: []string{"explain", "--config", missing, "ann@example.com"},
			wantErr: "explain: no SQLite store at " + missingDB},
		{name: "reconcile without a store", args: []string{"reconcile", "--config", missing},
			wantErr: "reconcile: no SQLite store at " + missingDB},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := dispatch(t.Context(), tt.args, testEnv(&out, &errOut))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
			}
		})
	}
	if _, err := os.Stat(filepath.Dir(missingDB)); !os.IsNotExist(err) {
		t.Errorf("a store directory was created at %s: %v", filepath.Dir(missingDB), err)
	}
}

// TestInterspersed checks how flags after positional arguments are moved
// in front of them.
func TestInterspersed(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{args: []string{"ann", "--config", "c.yaml"}, want: []string{"--config", "c.yaml", "--", "ann"}},
		{args: []string{"--json", "ann", "-config=c.yaml"}, want: []string{"--json", "-config=c.yaml", "--", "ann"}},
		{args: []string{"--", "-abc"}, want: []string{"--", "-abc"}},
		{args: []string{"ann", "-", "--json"}, want: []string{"--json", "--", "ann", "-"}},
		{args: nil, want: []string{"--"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			fs := newFlagSet("explain", "explain", testEnv(&bytes.Buffer{}, &bytes.Buffer{}))
			fs.String("config", "", "")
			fs.Bool("json", false, "")
			got := interspersed(fs, tt.args)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("interspersed(%q) = %q, want %q", tt.args, got, tt.want)
			}
		})
	}
}
