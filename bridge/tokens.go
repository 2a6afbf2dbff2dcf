package bridge

import (
	"bytes"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

// namedTokens are token hashes with the names configured for them, in
// configuration order.
type namedTokens struct {
	hashes [][]byte
	names  []string
}

func consoleTokens(cfg *config.Config) (namedTokens, error) {
	hashes, err := cfg.ConsoleTokenHashes()
	if err != nil {
		return namedTokens{}, err
	}
	names := make([]string, len(cfg.Console.Tokens))
	for i, t := range cfg.Console.Tokens {
		names[i] = t.Name
	}
	return namedTokens{hashes: hashes, names: names}, nil
}

// match returns the name of the token whose hash is hash, and whether one
// is configured.
func (n namedTokens) match(hash []byte) (string, bool) {
	for i, h := range n.hashes {
		if bytes.Equal(h, hash) {
			return n.names[i], true
		}
	}
	return "", false
}

// scimTokenName names the SCIM token whose hash is hash ("" when it has no
// name or is no longer configured).
func (s *state) scimTokenName(hash []byte) string {
	name, _ := namedTokens{hashes: s.tokens, names: s.tokenNames}.match(hash)
	return name
}
