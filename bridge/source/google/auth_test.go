package google

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap/zaptest"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/source/google/googletest"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/sqlite"
)

func TestServiceAccount(t *testing.T) {
	tokens := &googletest.TokenServer{}
	tokenURL := tokens.Start(t)
	dir := t.TempDir()
	googletest.WriteServiceAccountKey(t, dir, tokenURL)
	tests := []struct {
		name       string
		tokenError string
		wantErr    []string
	}{
		{"delegated", "", nil},
		{"no domain-wide delegation", "unauthorized_client", []string{"domain-wide delegation is missing", "client ID " + googletest.ServiceAccountClientID, ScopeGroupMemberReadonly}},
		{"subject refused", "invalid_grant", []string{"refused to impersonate admin@example.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := googletest.New()
			seed(fake)
			cfg := baseConfig()
			cfg.Endpoint = fake.Start(t)
			cfg.CredentialsFile = "service-account.json"
			st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "b.db"), sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			reg := prometheus.NewRegistry()
			src, err := New(context.Background(), Options{Config: cfg, BaseDir: dir, Store: st, Logger: zaptest.NewLogger(t),
				Registerer: reg, Backoff: time.Millisecond, MaxAttempts: 2})
			if err != nil {
				t.Fatal(err)
			}
			if tt.tokenError != "" {
				tokens.Fail(tt.tokenError)
			}
			before := len(tokens.Claims())
			ch, err := src.PollOnce(context.Background())
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("PollOnce: %v", err)
				}
				if ch.Created != 4 {
					t.Errorf("created %d, want 4", ch.Created)
				}
			} else {
				if err == nil {
					t.Fatal("PollOnce succeeded, want an authorisation error")
				}
				for _, s := range tt.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not contain %q", err, s)
					}
				}
				if ReasonOf(err) != ReasonAuth || testutil.ToFloat64(src.metrics.errors.WithLabelValues(ReasonAuth)) != 1 {
					t.Errorf("reason = %q, want auth, counted once", ReasonOf(err))
				}
			}
			claims := tokens.Claims()[before:]
			if len(claims) != 1 {
				t.Fatalf("token requests = %d, want 1 (auth errors are not retried)", len(claims))
			}
			if claims[0]["sub"] != "admin@example.com" {
				t.Errorf("sub = %v, want the configured subject", claims[0]["sub"])
			}
			if got, want := claims[0]["scope"], strings.Join(Scopes(), " "); got != want {
				t.Errorf("scope = %v, want %v", got, want)
			}
		})
	}
}

func TestNewRejectsBadCredentials(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, file, content, want string
	}{
		{"missing file", "absent.json", "", "no such file"},
		{"not a service account", "user.json", `{"type":"authorized_user","client_id":"x"}`, `type "authorized_user", want a service account key`},
		{"not JSON", "garbage.json", `not json`, "credentials"},
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "b.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.content != "" {
				writeFile(t, filepath.Join(dir, tt.file), tt.content)
			}
			cfg := baseConfig()
			cfg.CredentialsFile = tt.file
			_, err := New(context.Background(), Options{Config: cfg, BaseDir: dir, Store: st, Logger: zaptest.NewLogger(t), Registerer: prometheus.NewRegistry()})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
