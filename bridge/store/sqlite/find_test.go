package sqlite_test

import (
	"context"
	"errors"
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

// TestLookUpsRunToTheirEnd: a look-up by an indexed field is not watched
// for cancellation (a handful of rows, cheaper run to the end); a page is,
// and a cancelled one stops.
func TestLookUpsRunToTheirEnd(t *testing.T) {
	st := newStore(t)
	if _, err := st.CreateUser(t.Context(), store.User{ID: "u-1", UserName: "ann@example.com", Active: true, Doc: map[string]any{"userName": "ann@example.com"}}); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	views, _, err := st.FindUserViews(cancelled, store.UserFilter{Query: store.Query{Field: "userName", Value: "ann@example.com", Limit: 10}})
	if err != nil || len(views) != 1 {
		t.Errorf("look-up with a cancelled context: %d views, %v; want the user", len(views), err)
	}
	if _, _, err := st.FindUserViews(cancelled, store.UserFilter{Query: store.Query{Limit: 10}}); !errors.Is(err, context.Canceled) {
		t.Errorf("page with a cancelled context: %v; want it cancelled", err)
	}
}
