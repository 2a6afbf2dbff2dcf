package memory_test

import (
	"testing"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/conformance"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/memory"
)

func TestRolloutConformance(t *testing.T) {
	conformance.RunRolloutTests(t, func(t *testing.T) store.Store {
		s := memory.New(memory.Options{})
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}
