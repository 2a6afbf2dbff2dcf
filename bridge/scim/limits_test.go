package scim

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	scimerrors "github.com/elimity-com/scim/errors"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/postgres"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/postgres/pgtest"
)

// TestUnindexableValuesRefused: a NUL character or an over-long value in
// an attribute the store indexes is a 400 naming the attribute, on every
// backend (PostgreSQL fails the whole write on either), and nothing is
// written.
func TestUnindexableValuesRefused(t *testing.T) {
	// Incompressible, so PostgreSQL cannot shrink the index entry.
	long := noise(3000)
	longOK := noise(maxIndexedBytes-len("@example.com")) + "@example.com"
	backends := map[string]func(t *testing.T) *fixture{
		"sqlite": func(t *testing.T) *fixture { return newFixture(t, nil) },
		"postgres": func(t *testing.T) *fixture {
			if os.Getenv("SCIM_BRIDGE_TEST_POSTGRES_DSN") == "" && os.Getenv("SCIM_BRIDGE_REQUIRE_POSTGRES") != "1" {
				t.Skip("PostgreSQL backend skipped: set SCIM_BRIDGE_TEST_POSTGRES_DSN to run it")
			}
			db, err := postgres.Open(t.Context(), pgtest.FreshSchema(t), postgres.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			return newFixture(t, db)
		},
	}
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			f := open(t)
			uid := f.createUser("kept@example.com", "")
			gid := f.createGroup("Kept", uid)
			cases := []struct {
				name, method, path, body, attr string
			}{
				{"NUL userName", "POST", "/scim/v2/Users", `{"userName":"a\u0000b@example.com"}`, "userName"},
				{"long userName", "POST", "/scim/v2/Users", `{"userName":"` + long + `"}`, "userName"},
				{"userName one byte too long", "POST", "/scim/v2/Users", `{"userName":"` + longOK + `x"}`, "userName"},
				{"long externalId", "POST", "/scim/v2/Users", `{"userName":"e@example.com","externalId":"` + long + `"}`, "externalId"},
				{"NUL email", "POST", "/scim/v2/Users", `{"userName":"m@example.com","emails":[{"value":"m\u0000@example.com"}]}`, "emails.value"},
				{"long email", "POST", "/scim/v2/Users", `{"userName":"m@example.com","emails":[{"value":"` + long + `"}]}`, "emails.value"},
				{"long manager", "POST", "/scim/v2/Users", `{"userName":"m@example.com","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":"` + long + `"}}`, "manager.value"},
				{"patch NUL userName", "PATCH", "/scim/v2/Users/" + uid, `{` + patchSchema + `,"Operations":[{"op":"replace","path":"userName","value":"k\u0000@example.com"}]}`, "userName"},
				{"put long externalId", "PUT", "/scim/v2/Users/" + uid, `{"userName":"kept@example.com","externalId":"` + long + `"}`, "externalId"},
				{"long displayName", "POST", "/scim/v2/Groups", `{"displayName":"` + long + `"}`, "displayName"},
				{"NUL group externalId", "POST", "/scim/v2/Groups", `{"displayName":"G","externalId":"a\u0000"}`, "externalId"},
				{"patch long displayName", "PATCH", "/scim/v2/Groups/" + gid, `{` + patchSchema + `,"Operations":[{"op":"replace","path":"displayName","value":"` + long + `"}]}`, "displayName"},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					r := f.do(c.method, c.path, c.body)
					if r.status != 400 || at(r.body, "scimType") != "invalidValue" {
						t.Fatalf("status %d, want 400 invalidValue: %.300s", r.status, r.raw)
					}
					if d, _ := r.body["detail"].(string); !strings.Contains(d, c.attr) {
						t.Errorf("detail %q does not name %s", d, c.attr)
					}
				})
			}
			r := f.mustDo(200, "GET", "/scim/v2/Users", "")
			if at(r.body, "totalResults") != jsonNum(1) {
				t.Errorf("users written: %.500s", r.raw)
			}
			if u, err := f.store.GetUser(t.Context(), uid); err != nil || u.Version != 1 {
				t.Errorf("user changed: %+v %v", u, err)
			}
			if g, err := f.store.GetGroup(t.Context(), gid); err != nil || g.Version != 1 || g.DisplayName != "Kept" {
				t.Errorf("group changed: %+v %v", g, err)
			}
			// The longest accepted value is stored.
			f.mustDo(201, "POST", "/scim/v2/Users", `{"userName":"`+longOK+`","emails":[{"value":"`+longOK+`"}]}`)
		})
	}
}

// noise returns n pseudo-random hex characters.
func noise(n int) string {
	var b strings.Builder
	sum := sha256.Sum256([]byte("seed"))
	for b.Len() < n {
		b.WriteString(hex.EncodeToString(sum[:]))
		sum = sha256.Sum256(sum[:])
	}
	return b.String()[:n]
}

// TestStoreErrorMapping: every store sentinel becomes its SCIM error; a
// value the store refuses is the client's fault, not a 500.
func TestStoreErrorMapping(t *testing.T) {
	cases := []struct {
		err      error
		status   int
		scimType scimerrors.ScimType
	}{
		{fmt.Errorf("store: get user x: %w", store.ErrNotFound), 404, ""},
		{fmt.Errorf("store: create user: %w", store.ErrConflict), 409, scimerrors.ScimTypeUniqueness},
		{fmt.Errorf("store: create user: userName holds a NUL character: %w", store.ErrInvalid), 400, scimerrors.ScimTypeInvalidValue},
	}
	for _, c := range cases {
		t.Run(c.err.Error(), func(t *testing.T) {
			var se scimerrors.ScimError
			if !errors.As(storeError(c.err, "User", "x"), &se) || se.Status != c.status || se.ScimType != c.scimType {
				t.Errorf("got %+v, want %d %q", se, c.status, c.scimType)
			}
		})
	}
	var se scimerrors.ScimError
	if err := storeError(errors.New("disk on fire"), "User", "x"); errors.As(err, &se) {
		t.Errorf("an unexpected store error became %+v", se)
	}
}
