package charts

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// buildBridge builds the scim-bridge binary with the default build
// settings, so the packages compiled by the main module's tests are reused.
func buildBridge(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "scim-bridge")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/scim-bridge")
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/scim-bridge: %v\n%s", err, out)
	}
	return bin
}

// TestRenderedConfigPassesCheckConfig runs the bridge's own strict config
// loader (`scim-bridge check-config`) on the config each chart case renders,
// with the Secret's files laid out as the pod would see them.
func TestRenderedConfigPassesCheckConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the bridge binary")
	}
	bin := buildBridge(t)
	type checkCase struct {
		name      string
		files     []string
		overrides map[string]any
		wantErr   string
	}
	var cases []checkCase
	for _, c := range chartCases {
		name := c.file
		var files []string
		if name == "" {
			name = "defaults"
		} else {
			files = []string{c.file}
		}
		cases = append(cases, checkCase{name: name, files: files})
	}
	cases = append(cases,
		checkCase{name: "users-v1 without a default role", files: []string{minimalValues}, overrides: map[string]any{"config.gainsight.api": "users-v1"}, wantErr: "gainsight.defaultRole"},
		// The loader accepts any string here; only building the mapping,
		// as serve does, finds the path unusable.
		checkCase{name: "mapping path the bridge cannot parse", files: []string{minimalValues},
			overrides: map[string]any{"config.mapping.fields": []any{map[string]any{"scim": `addresses[type eq "home".locality`, "gainsight": "Title"}}}, wantErr: "is not a SCIM attribute path"},
		checkCase{name: "profile with unknown license", files: []string{"ci/sqlite-values.yaml"},
			overrides: map[string]any{"config.groups": []any{map[string]any{"name": "x", "displayName": "X", "licenseType": "Ful"}}}, wantErr: "licenseType"},
	)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := mustRender(t, "sb", tc.files, tc.overrides)
			dir := t.TempDir()
			secrets, data, google := filepath.Join(dir, "secrets"), filepath.Join(dir, "data"), filepath.Join(dir, "google")
			for _, d := range []string{secrets, data, google} {
				if err := os.Mkdir(d, 0o700); err != nil {
					t.Fatal(err)
				}
			}
			cfg := only[*corev1.ConfigMap](t, r.objs).Data["config.yaml"]
			// The Google directory first: the secret directory's name is a
			// prefix of it.
			cfg = strings.ReplaceAll(cfg, googleDir, google)
			cfg = strings.ReplaceAll(cfg, secretDir, secrets)
			cfg = strings.ReplaceAll(cfg, dataDir, data)
			path := filepath.Join(dir, "config.yaml")
			if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			writeSecretFiles(t, r, secrets)
			if strings.Contains(cfg, google) {
				key := fakeServiceAccountKey
				if s := all[*corev1.Secret](r.objs); len(s) == 1 && len(s[0].Data[googleKeyInSet]) > 0 {
					key = string(s[0].Data[googleKeyInSet])
				}
				if err := os.WriteFile(filepath.Join(google, "service-account.json"), []byte(key), 0o600); err != nil {
					t.Fatal(err)
				}
			}

			cmd := exec.Command(bin, "check-config", path)
			out, err := cmd.CombinedOutput()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("check-config: %v\n%s\n--- config.yaml\n%s", err, out, cfg)
				}
				return
			}
			if err == nil || !strings.Contains(string(out), tc.wantErr) {
				t.Fatalf("check-config: err %v, output %s; want a failure naming %s", err, out, tc.wantErr)
			}
		})
	}
}

// writeSecretFiles writes the files the pod's secret volume holds: the
// chart's Secret values, or stand-ins for values left empty and for an
// existing Secret (whose keys the config names).
func writeSecretFiles(t *testing.T, r *rendering, dir string) {
	t.Helper()
	values := map[string][]byte{}
	if s := all[*corev1.Secret](r.objs); len(s) == 1 {
		values = s[0].Data
	}
	var cfg renderedConfig
	raw := only[*corev1.ConfigMap](t, r.objs).Data["config.yaml"]
	if err := yamlUnmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	standIns := map[string]string{cfg.Gainsight.AccessKeyFile: "stand-in-access-key"}
	if cfg.Store.Postgres.DSNFile != "" {
		standIns[cfg.Store.Postgres.DSNFile] = "postgres://bridge:secret@127.0.0.1:5432/scim_bridge?sslmode=disable"
	}
	for _, tok := range cfg.SCIM.Tokens {
		standIns[tok.SHA256File] = strings.Repeat("ab", 32)
	}
	for _, tok := range cfg.Console.Tokens {
		standIns[tok.SHA256File] = strings.Repeat("cd", 32)
	}
	if cfg.Console.SessionKeyFile != "" {
		standIns[cfg.Console.SessionKeyFile] = strings.Repeat("k", 40)
	}
	for file, standIn := range standIns {
		key := strings.TrimPrefix(file, secretDir+"/")
		v := values[key]
		if len(v) == 0 {
			v = []byte(standIn)
		}
		if err := os.WriteFile(filepath.Join(dir, key), v, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
