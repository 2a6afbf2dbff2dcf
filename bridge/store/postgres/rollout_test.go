package postgres_test

import (
	"testing"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/conformance"
)

func TestRolloutConformance(t *testing.T) {
	testDSN(t)
	conformance.RunRolloutTests(t, func(t *testing.T) store.Store { return open(t, freshSchema(t)) })
}
