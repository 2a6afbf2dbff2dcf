package config

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestPostgresDSN checks that check-config catches a PostgreSQL DSN the
// driver would refuse (or silently truncate) at start-up, whether given
// inline, through ${VAR} or from dsnFile, without ever quoting it: it
// usually holds a password.
func TestPostgresDSN(t *testing.T) {
	const password = "s3cr%t"
	tests := []struct {
		name    string
		dsn     string
		wantErr string // "" = valid
	}{
		{"url", "postgres://bridge:pw@db.example.com:5432/scim?sslmode=require", ""},
		{"postgresql url", "postgresql://bridge@db/scim", ""},
		{"url with encoded password", "postgres://bridge:p%40ss%23@db/scim", ""},
		{"keyword value", "host=db user=bridge password='a b#c' dbname=scim", ""},
		{"keyword value with url inside", "host=db password=x://y dbname=scim", ""},
		{"hash after the path", "postgres://bridge:pw@db/scim#x", `"#" starts a fragment`},
		{"bad escape in password", "postgres://bridge:" + password + "@db/scim", "not a valid postgres:// URL"},
		{"hash in password", "postgres://bridge:ab#cd@db/scim", `"#" starts a fragment`},
		{"wrong scheme", "postgress://bridge:" + password + "@db/scim", "must start with postgres:// or postgresql://"},
		{"jdbc url", "jdbc:postgresql://db/scim?password=" + password, "must start with postgres:// or postgresql://"},
		{"neither form", "db.example.com", "want a postgres:// URL or keyword=value pairs"},
	}
	for _, tt := range tests {
		for _, via := range []string{"inline", "env", "file"} {
			t.Run(tt.name+"/"+via, func(t *testing.T) {
				dir := t.TempDir()
				var store string
				env := map[string]string{}
				switch via {
				case "inline":
					store = "    dsn: '" + strings.ReplaceAll(tt.dsn, "'", "''") + "'\n"
				case "env":
					env["PG_DSN"] = tt.dsn
					store = "    dsn: ${PG_DSN}\n"
				case "file":
					writeFile(t, filepath.Join(dir, "dsn"), tt.dsn+"\n")
					store = "    dsnFile: dsn\n"
				}
				_, err := parse([]byte(minimal+"store:\n  type: postgres\n  postgres:\n"+store), dir, envMap(env))
				if tt.wantErr == "" {
					if err != nil {
						t.Fatalf("valid DSN rejected: %v", err)
					}
					return
				}
				if err == nil {
					t.Fatalf("invalid DSN accepted; want an error containing %q", tt.wantErr)
				}
				msg := err.Error()
				if !strings.Contains(msg, "store.postgres.dsn: ") || !strings.Contains(msg, tt.wantErr) {
					t.Errorf("error = %q, want store.postgres.dsn: …%s…", msg, tt.wantErr)
				}
				if strings.Contains(msg, password) {
					t.Errorf("error quotes the password: %q", msg)
				}
			})
		}
	}
}
