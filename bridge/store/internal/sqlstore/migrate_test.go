package sqlstore

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoadMigrations(t *testing.T) {
	tests := []struct {
		name    string
		files   fstest.MapFS
		want    []int
		wantErr string
	}{
		{"ordered by version", fstest.MapFS{
			"0010_later.sql": {Data: []byte("B")},
			"0002_next.sql":  {Data: []byte("A")},
			"0001_init.sql":  {Data: []byte("I")},
			"README.md":      {Data: []byte("ignored")},
		}, []int{1, 2, 10}, ""},
		{"empty", fstest.MapFS{}, nil, ""},
		{"no number", fstest.MapFS{"init.sql": {}}, nil, "NNNN_description.sql"},
		{"zero", fstest.MapFS{"0000_x.sql": {}}, nil, "NNNN_description.sql"},
		{"duplicate version", fstest.MapFS{"0001_a.sql": {}, "1_b.sql": {}}, nil, "share version 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := LoadMigrations(tc.files)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("LoadMigrations error = %v; want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadMigrations: %v", err)
			}
			var got []int
			for _, m := range ms {
				got = append(got, m.Version)
				if m.SQL == "" {
					t.Errorf("migration %s has no SQL", m.Name)
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("versions = %v; want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("versions = %v; want %v", got, tc.want)
				}
			}
		})
	}
}
