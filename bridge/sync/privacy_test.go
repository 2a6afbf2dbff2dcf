package sync

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight/gainsighttest"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// TestE2EDuplicateErrorsNameNoOtherUser: the last error an IdP sees on a
// user refers to other users by SCIM id only: neither a duplicate Gainsight
// refuses (whose message quotes the other user's email) nor one the
// look-up finds names the other user's userName or address; nor does any
// line the engine logs.
func TestE2EDuplicateErrorsNameNoOtherUser(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	x := newE2E(t, gainsighttest.Tenant{}, 0, func(o *Options) { o.Logger = zap.New(core) })
	for _, u := range []store.User{
		{ID: "u-1", UserName: "alice.smith@example.com", Emails: []string{"alice.smith@example.com"}, Active: true, Doc: map[string]any{}},
		{ID: "u-2", UserName: "bob.jones@example.com", Emails: []string{"bob.jones@example.com"}, Active: true, Doc: map[string]any{}},
	} {
		if _, err := x.st.CreateUser(context.Background(), u); err != nil {
			t.Fatal(err)
		}
	}
	x.converge()
	// Bob takes Alice's address: Gainsight refuses the update.
	x.update("u-2", func(u *store.User) { u.Emails = []string{"alice.smith@example.com"} })
	// Carol is created with it: the look-up finds Alice's Gainsight user.
	if _, err := x.st.CreateUser(context.Background(), store.User{ID: "u-3", UserName: "carol@example.com",
		Emails: []string{"Alice.Smith@example.com"}, Active: true, Doc: map[string]any{}}); err != nil {
		t.Fatal(err)
	}
	x.converge()
	for _, id := range []string{"u-2", "u-3"} {
		info := x.info(id)
		if info.State != store.StateFailed || !strings.Contains(info.LastError, "duplicate") {
			t.Fatalf("%s: %+v, want failed as a duplicate", id, info)
		}
		for _, leak := range []string{"alice", "Alice"} {
			if strings.Contains(info.LastError, leak) {
				t.Errorf("%s: last error %q names another user", id, info.LastError)
			}
		}
	}
	if got := x.info("u-3").LastError; !strings.Contains(got, "user u-1") {
		t.Errorf("u-3: last error %q, want the other user named by SCIM id", got)
	}
	if logs.Len() == 0 {
		t.Fatal("the engine logged nothing")
	}
	for _, e := range logs.All() {
		line := e.Message
		for k, v := range e.ContextMap() {
			line += fmt.Sprintf(" %s=%v", k, v)
		}
		if strings.Contains(strings.ToLower(line), "alice.smith@example.com") {
			t.Errorf("logged an address in full: %s", line)
		}
	}
}
