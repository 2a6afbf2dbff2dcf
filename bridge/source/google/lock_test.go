package google

import (
	"context"
	"errors"
	"testing"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/source/google/googletest"
)

// TestPollTakesTheLock: replicas sharing a store poll Google one at a
// time; a replica that does not get the lock does not call Google at all.
func TestPollTakesTheLock(t *testing.T) {
	held := true
	var unlocked int
	e := newEnv(t, baseConfig(), func(o *Options) {
		o.Lock = func(context.Context) (func(), bool, error) {
			if held {
				return nil, false, nil
			}
			return func() { unlocked++ }, true, nil
		}
	})
	seed(e.fake)
	if err := e.src.pollLocked(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := e.fake.Requests(googletest.KindUsers); n != 0 {
		t.Fatalf("polled Google %d times while another replica held the lock", n)
	}
	held = false
	if err := e.src.pollLocked(t.Context()); err != nil {
		t.Fatal(err)
	}
	if e.fake.Requests(googletest.KindUsers) == 0 || !e.hasUser(t, "alice@example.com") {
		t.Errorf("did not poll with the lock")
	}
	if unlocked != 1 {
		t.Errorf("lock released %d times, want 1", unlocked)
	}
}

func TestPollLockError(t *testing.T) {
	e := newEnv(t, baseConfig(), func(o *Options) {
		o.Lock = func(context.Context) (func(), bool, error) { return nil, false, errors.New("database gone") }
	})
	if err := e.src.pollLocked(t.Context()); err == nil {
		t.Fatal("a lock error must be reported")
	}
}
