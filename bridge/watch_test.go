package bridge

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestWatchKeepsWhatTheReloadRead checks the watcher's bookkeeping: after a
// reload, a secret file is remembered as it was before the reload read it,
// so a change that lands while the reload runs is still a change for the
// next tick, and a file the reload started to watch is read at once.
func TestWatchKeepsWhatTheReloadRead(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	token := filepath.Join(dir, "token.sha256")
	key := filepath.Join(dir, "access-key")
	write := func(p, s string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(cfg, "config")
	write(token, "old")

	before := fileHashes{}.extend(cfg, []string{token})
	write(token, "rotated while the reload ran")
	write(key, "key")
	last := before.extend(cfg, []string{token, key})
	now := fileHashes{}.extend(cfg, []string{token, key})
	if bytes.Equal(last.sum(), now.sum()) {
		t.Fatal("a secret file changed during the reload is not seen as a change")
	}
	write(token, "old")
	if !bytes.Equal(last.sum(), fileHashes{}.extend(cfg, []string{token, key}).sum()) {
		t.Error("a file the reload started to watch was not read with the reload")
	}

	if err := os.Remove(cfg); err != nil {
		t.Fatal(err)
	}
	if s := (fileHashes{}).extend(cfg, []string{token}).sum(); s != nil {
		t.Errorf("sum without a config file = %x, want nil", s)
	}
	if s := before.extend(cfg, []string{token}).sum(); s == nil {
		t.Error("a config file read before it was removed counts as unreadable")
	}
}
