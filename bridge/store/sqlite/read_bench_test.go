package sqlite_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/sqlite"
)

// seeded opens a store holding n users.
func seeded(b *testing.B, n int) *sqlite.Store {
	s := open(b, filepath.Join(b.TempDir(), "bench.db"))
	for i := 0; i < n; i += 500 {
		errs := make(chan error, 500)
		for j := i; j < min(i+500, n); j++ {
			go func() {
				name := fmt.Sprintf("user-%06d@example.com", j)
				_, err := s.CreateUser(b.Context(), store.User{UserName: name, ExternalID: fmt.Sprint("00u", j), Emails: []string{name}, Active: true,
					Doc: map[string]any{"userName": name, "active": true, "displayName": "User", "emails": []any{map[string]any{"value": name, "type": "work", "primary": true}},
						"name": map[string]any{"givenName": "Load", "familyName": fmt.Sprint("User ", j)}}})
				errs <- err
			}()
		}
		for j := i; j < min(i+500, n); j++ {
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
		}
	}
	return s
}

// BenchmarkUserViewByUserName is the store's part of an identity
// provider's look-up: one user by userName, with its link and groups.
func BenchmarkUserViewByUserName(b *testing.B) {
	s := seeded(b, 10000)
	defer s.Close()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		vs, total, err := s.FindUserViews(b.Context(), store.UserFilter{Query: store.Query{Field: "userName", Value: fmt.Sprintf("USER-%06d@example.com", i%10000), Limit: 100}})
		if err != nil || len(vs) != 1 || total != 1 {
			b.Fatal(len(vs), total, err)
		}
	}
}

// BenchmarkUserViewsDeepPage reads 100 users from offset 9,000 of 10,000.
func BenchmarkUserViewsDeepPage(b *testing.B) {
	s := seeded(b, 10000)
	defer s.Close()
	b.ResetTimer()
	for b.Loop() {
		vs, _, err := s.FindUserViews(b.Context(), store.UserFilter{Query: store.Query{Offset: 9000, Limit: 100}})
		if err != nil || len(vs) != 100 {
			b.Fatal(len(vs), err)
		}
	}
}

func BenchmarkFindUsersByUserName(b *testing.B) {
	s := seeded(b, 10000)
	defer s.Close()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		vs, total, err := s.FindUsers(b.Context(), store.UserFilter{Query: store.Query{Field: "userName", Value: fmt.Sprintf("USER-%06d@example.com", i%10000), Limit: 100}})
		if err != nil || len(vs) != 1 || total != 1 {
			b.Fatal(len(vs), total, err)
		}
	}
}
