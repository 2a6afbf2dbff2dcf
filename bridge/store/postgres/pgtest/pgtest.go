package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// DSN returns the DSN of the test database, skipping the test when none is
// configured (failing instead when SCIM_BRIDGE_REQUIRE_POSTGRES=1, as CI
// sets it: there a skip would hide a broken backend).
func DSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("SCIM_BRIDGE_TEST_POSTGRES_DSN")
	if dsn == "" {
		if os.Getenv("SCIM_BRIDGE_REQUIRE_POSTGRES") == "1" {
			t.Fatal("SCIM_BRIDGE_REQUIRE_POSTGRES=1 but SCIM_BRIDGE_TEST_POSTGRES_DSN is not set")
		}
		t.Skip("PostgreSQL tests skipped: set SCIM_BRIDGE_TEST_POSTGRES_DSN (e.g. postgres://postgres@127.0.0.1:5432/scim_bridge_test?sslmode=disable) to run them")
	}
	return dsn
}

// WithParams adds run-time parameters to a URL or key=value DSN.
func WithParams(t testing.TB, dsn string, params map[string]string) string {
	t.Helper()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatalf("parse DSN: %v", err)
		}
		q := u.Query()
		for k, v := range params {
			q.Set(k, v)
		}
		u.RawQuery = q.Encode()
		return u.String()
	}
	for k, v := range params {
		dsn += fmt.Sprintf(" %s=%s", k, v)
	}
	return dsn
}

// FreshSchema creates an empty schema that is dropped when the test ends,
// and returns a DSN whose search_path points at it: runs never see each
// other's data.
func FreshSchema(t testing.TB) string {
	t.Helper()
	dsn := DSN(t)
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatalf("open admin connection: %v", err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "scim_bridge_test_" + hex.EncodeToString(b)
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		_ = admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		_ = admin.Close()
	})
	return WithParams(t, dsn, map[string]string{"search_path": schema})
}
