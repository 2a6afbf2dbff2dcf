package config

import "testing"

func TestTokenMatches(t *testing.T) {
	hash := func(s string) []byte {
		c := Config{SCIM: SCIM{Tokens: []Token{{Name: "t", SHA256: Secret(HashToken(s))}}}}
		h, err := c.TokenHashes()
		if err != nil {
			t.Fatal(err)
		}
		return h[0]
	}
	rotating := [][]byte{hash("old-token"), hash("new-token")}
	tests := []struct {
		name   string
		token  string
		hashes [][]byte
		want   bool
		index  int // MatchToken's answer
	}{
		{"first of two", "old-token", rotating, true, 0},
		{"second of two", "new-token", rotating, true, 1},
		{"unknown", "other-token", rotating, false, -1},
		{"empty token", "", rotating, false, -1},
		{"no hashes", "old-token", nil, false, -1},
		{"malformed hash skipped", "old-token", [][]byte{[]byte("short"), hash("old-token")}, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TokenMatches(tt.token, tt.hashes); got != tt.want {
				t.Errorf("TokenMatches(%q) = %v, want %v", tt.token, got, tt.want)
			}
			if got := MatchToken(tt.token, tt.hashes); got != tt.index {
				t.Errorf("MatchToken(%q) = %d, want %d", tt.token, got, tt.index)
			}
		})
	}
}

func TestAuthorizationMatches(t *testing.T) {
	c := Config{SCIM: SCIM{Tokens: []Token{{Name: "t", SHA256: Secret(HashToken("tok"))}}}}
	h, err := c.TokenHashes()
	if err != nil {
		t.Fatal(err)
	}
	for header, want := range map[string]bool{
		"Bearer tok":   true,
		"bearer  tok ": true,
		"Basic tok":    false,
		"Bearer":       false,
		"Bearer other": false,
		"":             false,
		"tok":          false,
	} {
		if got := AuthorizationMatches(header, h); got != want {
			t.Errorf("AuthorizationMatches(%q) = %v, want %v", header, got, want)
		}
	}
}
