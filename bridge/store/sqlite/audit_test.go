package sqlite_test

import (
	"testing"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/conformance"
)

func TestAuditConformance(t *testing.T) {
	conformance.RunAuditTests(t, func(t *testing.T) store.Store { return newStore(t) })
}

func TestAuditQueuerConformance(t *testing.T) {
	conformance.RunAuditQueuerTests(t, func(t *testing.T) store.Store { return newStore(t) })
}
