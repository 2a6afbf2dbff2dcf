package translate

import (
	"os/exec"
	"strings"
	"testing"
)

// TestMappingDoesNotImportTheClient: the mapping is pure; it takes the
// record type from its leaf package, never the REST client with its
// transport, budget and retries, nor the engine or a store backend.
func TestMappingDoesNotImportTheClient(t *testing.T) {
	const mod = "github.com/gainsight-scim-bridge/gainsight-scim-bridge/"
	out, err := exec.Command("go", "list", "-deps", mod+"bridge/translate").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		switch dep {
		case mod + "bridge/gainsight", mod + "bridge/sync", mod + "bridge/store/sqlite", mod + "bridge/store/postgres":
			t.Errorf("bridge/translate depends on %s", dep)
		}
	}
	if !strings.Contains(string(out), mod+"bridge/gainsight/record\n") {
		t.Errorf("bridge/translate does not use the record package:\n%s", out)
	}
}
