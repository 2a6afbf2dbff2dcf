package config

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"gopkg.in/yaml.v3"
)

// HashToken returns the hex SHA-256 of a bearer token: the form tokens take
// in scim.tokens[].sha256.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// TokenHashes returns the 32-byte SHA-256 of every configured SCIM token,
// in configuration order, for constant-time comparison with the hash of a
// presented token (crypto/subtle.ConstantTimeCompare). It fails, naming the
// token, if an entry is not a hex SHA-256; Validate reports the same.
func (c *Config) TokenHashes() ([][]byte, error) {
	return tokenHashes("scim.tokens", c.SCIM.Tokens)
}

// ConsoleTokenHashes is TokenHashes for the console's admin tokens
// (console.tokens), in configuration order.
func (c *Config) ConsoleTokenHashes() ([][]byte, error) {
	return tokenHashes("console.tokens", c.Console.Tokens)
}

func tokenHashes(path string, tokens []Token) ([][]byte, error) {
	out := make([][]byte, 0, len(tokens))
	for i, t := range tokens {
		if !isSHA256Hex(string(t.SHA256)) {
			return nil, fmt.Errorf("config: %s[%d] (%q): not a hex SHA-256", path, i, t.Name)
		}
		h, err := hex.DecodeString(string(t.SHA256))
		if err != nil {
			return nil, fmt.Errorf("config: %s[%d] (%q): %w", path, i, t.Name, err)
		}
		out = append(out, h)
	}
	return out, nil
}

// TokenMatches reports whether token hashes to one of hashes, comparing
// every hash in constant time so the answer's timing reveals nothing.
func TokenMatches(token string, hashes [][]byte) bool {
	return MatchToken(token, hashes) >= 0
}

// MatchToken returns the index in hashes of the hash token has, or -1. Every
// hash is compared in constant time, so the answer's timing reveals
// neither whether nor which one matched.
func MatchToken(token string, hashes [][]byte) int {
	if token == "" {
		return -1
	}
	sum := sha256.Sum256([]byte(token))
	found := -1
	for i, want := range hashes {
		if len(want) != sha256.Size {
			continue
		}
		eq := subtle.ConstantTimeCompare(sum[:], want)
		found = subtle.ConstantTimeSelect(eq, i, found)
	}
	return found
}

// BearerToken returns the token of an HTTP Authorization header of the
// Bearer scheme (RFC 6750, scheme case-insensitive), or "".
func BearerToken(header string) string {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// AuthorizationMatches reports whether an HTTP Authorization header carries
// a bearer token (RFC 6750, scheme case-insensitive) that TokenMatches.
func AuthorizationMatches(header string, hashes [][]byte) bool {
	return TokenMatches(BearerToken(header), hashes)
}

// Print writes the effective configuration as YAML. Every secret, whether
// given inline, through ${VAR} or from a file, prints as <secret>.
func (c *Config) Print(w io.Writer) error {
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return fmt.Errorf("config: print: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("config: print: %w", err)
	}
	return nil
}
