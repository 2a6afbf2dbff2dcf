package bridge_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/postgres"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/postgres/pgtest"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/sqlite"
)

const benchStoredUsers = 10000

// BenchmarkSCIMStores measures SCIM create and `userName eq` lookup
// requests/s through the bridge's SCIM handler with 10,000 stored users,
// on SQLite and on PostgreSQL side by side (PostgreSQL when
// SCIM_BRIDGE_TEST_POSTGRES_DSN is set).
func BenchmarkSCIMStores(b *testing.B) {
	backends := []struct {
		name string
		open func(b *testing.B) store.Store
	}{
		{"sqlite", func(b *testing.B) store.Store {
			st, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"), sqlite.Options{Logger: zap.NewNop()})
			if err != nil {
				b.Fatal(err)
			}
			return st
		}},
		{"postgres", func(b *testing.B) store.Store {
			st, err := postgres.Open(b.Context(), pgtest.FreshSchema(b), postgres.Options{Logger: zap.NewNop()})
			if err != nil {
				b.Fatal(err)
			}
			return st
		}},
	}
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			st := be.open(b)
			defer st.Close()
			h := benchHandler(b, st)
			b.Run("create", func(b *testing.B) {
				start := time.Now()
				for i := 0; b.Loop(); i++ {
					body := fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bench-%s-%d@example.com","emails":[{"value":"bench-%s-%d@example.com","type":"work"}]}`, be.name, i, be.name, i)
					if code := serve(h, http.MethodPost, "/scim/v2/Users", body); code != http.StatusCreated {
						b.Fatalf("create: %d", code)
					}
				}
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
			})
			b.Run("lookup", func(b *testing.B) {
				start := time.Now()
				for i := 0; b.Loop(); i++ {
					q := url.QueryEscape(fmt.Sprintf(`userName eq "SEED%05d@example.com"`, i%benchStoredUsers))
					if code := serve(h, http.MethodGet, "/scim/v2/Users?filter="+q, ""); code != http.StatusOK {
						b.Fatalf("lookup: %d", code)
					}
				}
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
			})
		})
	}
}

func benchHandler(b *testing.B, st store.Store) http.Handler {
	b.Helper()
	ctx := context.Background()
	for i := 0; i < benchStoredUsers; i++ {
		name := fmt.Sprintf("seed%05d@example.com", i)
		if _, err := st.CreateUser(ctx, store.User{
			ID: uuid.NewString(), UserName: name, Emails: []string{name}, Active: true,
			Doc: map[string]any{"userName": name, "active": true, "emails": []any{map[string]any{"value": name, "type": "work"}}},
		}); err != nil {
			b.Fatal(err)
		}
	}
	reg := prometheus.NewRegistry()
	// The engine is not started: the benchmark measures the SCIM side,
	// which never waits on Gainsight.
	up, err := gainsight.New(gainsight.Options{BaseURL: "http://127.0.0.1:1", Logger: zap.NewNop(), Registerer: reg})
	if err != nil {
		b.Fatal(err)
	}
	cfg := testConfig(b, "http://127.0.0.1:1", filepath.Join(b.TempDir(), "unused.db"))
	br, err := bridge.New(bridge.Options{Config: cfg, Logger: zap.NewNop(), Registry: reg, Store: st, Upstream: up, Version: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	return br.SCIMHandler()
}

func serve(h http.Handler, method, path, body string) int {
	req := httptest.NewRequest(method, "http://bench.test"+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testToken)
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}
