package sqlite_test

import (
	"testing"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/conformance"
)

func TestRolloutConformance(t *testing.T) {
	conformance.RunRolloutTests(t, func(t *testing.T) store.Store { return newStore(t) })
}
