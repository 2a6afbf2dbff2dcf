package sqlite_test

import (
	"testing"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/conformance"
)

func TestFinderConformance(t *testing.T) {
	conformance.RunFinderTests(t, func(t *testing.T) store.Store { return newStore(t) })
}
func TestViewFinderConformance(t *testing.T) {
	conformance.RunViewFinderTests(t, func(t *testing.T) store.Store { return newStore(t) })
}

func TestLinkedCreatorConformance(t *testing.T) {
	conformance.RunLinkedCreatorTests(t, func(t *testing.T) store.Store { return newStore(t) })
}
