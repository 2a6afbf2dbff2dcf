package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestFileSecrets(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "secrets", "access-key"), "file-access-key\n")
	writeFile(t, filepath.Join(dir, "secrets", "token"), exampleTokenHash+"\r\n")
	writeFile(t, filepath.Join(dir, "secrets", "dsn"), "postgres://bridge:pw@127.0.0.1/bridge\n\n")
	abs := filepath.Join(dir, "abs-key")
	writeFile(t, abs, "absolute-key")

	tests := []struct {
		name  string
		yaml  string
		check func(*Config) any
		want  any
	}{
		{
			name:  "access key relative to the config file, newline trimmed",
			yaml:  "scim:\n  tokens:\n    - sha256: " + exampleTokenHash + "\ngainsight:\n  baseURL: https://t.example.com\n  accessKeyFile: secrets/access-key\n",
			check: func(c *Config) any { return string(c.Gainsight.AccessKey) },
			want:  "file-access-key",
		},
		{
			name:  "absolute path",
			yaml:  "scim:\n  tokens:\n    - sha256: " + exampleTokenHash + "\ngainsight:\n  baseURL: https://t.example.com\n  accessKeyFile: " + abs + "\n",
			check: func(c *Config) any { return string(c.Gainsight.AccessKey) },
			want:  "absolute-key",
		},
		{
			name:  "token hash from a file, CRLF trimmed",
			yaml:  "scim:\n  tokens:\n    - sha256File: secrets/token\ngainsight:\n  baseURL: https://t.example.com\n  accessKey: k\n",
			check: func(c *Config) any { return string(c.SCIM.Tokens[0].SHA256) },
			want:  exampleTokenHash,
		},
		{
			name:  "postgres dsn from a file, every trailing newline trimmed",
			yaml:  "scim:\n  tokens:\n    - sha256: " + exampleTokenHash + "\ngainsight:\n  baseURL: https://t.example.com\n  accessKey: k\nstore:\n  type: postgres\n  postgres:\n    dsnFile: secrets/dsn\n",
			check: func(c *Config) any { return string(c.Store.Postgres.DSN) },
			want:  "postgres://bridge:pw@127.0.0.1/bridge",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, "config.yaml")
			writeFile(t, path, tt.yaml)
			cfg, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.check(cfg); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(filepath.Join(dir, "missing.yaml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}

	path := filepath.Join(dir, "bad.yaml")
	writeFile(t, path, "scim:\n  tokens: [\n")
	_, err = Load(path)
	var verrs ValidationErrors
	if err == nil || errors.As(err, &verrs) || !strings.Contains(err.Error(), "line") {
		t.Errorf("syntax error: %v, want a YAML error with its line", err)
	}

	path = filepath.Join(dir, "invalid.yaml")
	writeFile(t, path, "log:\n  level: loud\n")
	_, err = Load(path)
	if !errors.As(err, &verrs) || !strings.HasPrefix(err.Error(), "config "+path+": ") {
		t.Errorf("invalid file: %v, want ValidationErrors prefixed with the path", err)
	}

	// An empty file is all defaults, which lack tokens and Gainsight.
	path = filepath.Join(dir, "empty.yaml")
	writeFile(t, path, "")
	_, err = Load(path)
	if !errors.As(err, &verrs) || len(verrs) != 3 {
		t.Errorf("empty file: %v, want the three missing settings", err)
	}
}

func TestStrictDecoding(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"top level", "gainsight:\n  baseURL: https://t.example.com\nlisten:\n  scim: 127.0.0.1:1\nfoo: 1\n", []string{"line 5: field foo not found in type config.Config"}},
		{"nested", "store:\n  sqlite:\n    file: x.db\n", []string{"line 3: field file not found in type config.SQLite"}},
		{"in a list", "customFields:\n  - name: A__gc\n    type: string\n  - name: B__gc\n    kind: string\n", []string{"line 5: field kind not found in type config.CustomField"}},
		{"optional section", "google:\n  subject: a@example.com\n  scopes: [x]\n", []string{"line 3: field scopes not found in type config.GoogleSource"}},
		{"several at once", "scim:\n  token: x\nsync:\n  window: 2s\n", []string{"line 2: field token not found in type config.SCIM", "line 4: field window not found in type config.Sync"}},
		{"wrong case", "gainsight:\n  baseUrl: https://t.example.com\n", []string{"line 2: field baseUrl not found in type config.Gainsight"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse([]byte(tt.yaml), t.TempDir(), noEnv)
			var verrs ValidationErrors
			if !errors.As(err, &verrs) {
				t.Fatalf("error %v, want ValidationErrors", err)
			}
			if got := verrs.Strings(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", join(got), join(tt.want))
			}
		})
	}
}

func TestPrintMasksSecrets(t *testing.T) {
	dir := t.TempDir()
	const (
		fileKey = "access-key-from-file"
		envDSN  = "postgres://bridge:env-password@127.0.0.1/bridge"
	)
	writeFile(t, filepath.Join(dir, "key"), fileKey+"\n")
	writeFile(t, filepath.Join(dir, "token"), exampleTokenHash+"\n")
	path := filepath.Join(dir, "config.yaml")
	writeFile(t, path, `
scim:
  tokens:
    - name: primary
      sha256: 2f16bcc811aff33eb60839d75e429693c8edd1b3bf8d624d52f66434cec7254e
    - name: from-file
      sha256File: token
gainsight:
  baseURL: https://t.example.com
  accessKeyFile: key
store:
  type: postgres
  postgres:
    dsn: ${TEST_SCIM_BRIDGE_DSN}
`)
	t.Setenv("TEST_SCIM_BRIDGE_DSN", envDSN)
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{fileKey, "env-password", exampleTokenHash, "2f16bcc811aff33eb60839d75e429693c8edd1b3bf8d624d52f66434cec7254e"}

	var printed bytes.Buffer
	if err := cfg.Print(&printed); err != nil {
		t.Fatal(err)
	}
	var jsonOut bytes.Buffer
	enc := json.NewEncoder(&jsonOut)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(cfg); err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"Print": printed.String(),
		"json":  jsonOut.String(),
		"%v":    fmt.Sprintf("%v", cfg),
		"%+v":   fmt.Sprintf("%+v", cfg),
		"%#v":   fmt.Sprintf("%#v", cfg),
	}
	for name, out := range outputs {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%s output contains secret %q:\n%s", name, s, out)
			}
		}
		if got := strings.Count(out, "<secret>"); got != 4 {
			t.Errorf("%s output has %d <secret>, want 4:\n%s", name, got, out)
		}
	}

	// The printed configuration is the effective one: it decodes strictly
	// and carries the defaults and paths.
	for _, want := range []string{"sha256File: token", "accessKeyFile: key", "batchSize: 50", "timeout: 30s", "basePath: /scim/v2"} {
		if !strings.Contains(printed.String(), want) {
			t.Errorf("printed config lacks %q:\n%s", want, printed.String())
		}
	}
	cfg2 := Default()
	if errs, err := decode(printed.Bytes(), &cfg2, noEnv); err != nil || len(errs) > 0 {
		t.Errorf("printed config does not decode: %v %v", err, errs)
	}
	if cfg2.Gainsight.Timeout != cfg.Gainsight.Timeout || cfg2.Store.Type != "postgres" {
		t.Errorf("printed config decodes to %+v", cfg2)
	}
}

func TestTokens(t *testing.T) {
	// Known SHA-256 test vector ("abc", FIPS 180-2).
	if got, want := HashToken("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; got != want {
		t.Errorf("HashToken(abc) = %s, want %s", got, want)
	}
	cfg := Default()
	cfg.SCIM.Tokens = []Token{
		{Name: "upper", SHA256: Secret(strings.ToUpper(HashToken("one")))},
		{Name: "lower", SHA256: Secret(HashToken("two"))},
	}
	got, err := cfg.TokenHashes()
	if err != nil || len(got) != 2 {
		t.Fatalf("TokenHashes = %x, %v; want 2 hashes", got, err)
	}
	for i, token := range []string{"one", "two"} {
		if want := HashToken(token); fmt.Sprintf("%x", got[i]) != want {
			t.Errorf("hash %d = %x, want %s", i, got[i], want)
		}
	}

	cfg.SCIM.Tokens = append(cfg.SCIM.Tokens, Token{Name: "broken", SHA256: "zz"})
	got, err = cfg.TokenHashes()
	if err == nil || got != nil || !strings.Contains(err.Error(), `scim.tokens[2] ("broken")`) || strings.Contains(err.Error(), "zz") {
		t.Errorf("TokenHashes with an invalid entry = %x, %v; want an error naming the token, not its value", got, err)
	}
}
