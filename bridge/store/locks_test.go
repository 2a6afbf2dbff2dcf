package store

import "testing"

func TestProcessLocks(t *testing.T) {
	var l ProcessLocks
	unlock, ok := l.TryLock("job")
	if !ok {
		t.Fatal("first TryLock failed")
	}
	if _, again := l.TryLock("job"); again {
		t.Fatal("a held lock was taken twice")
	}
	if _, other := l.TryLock("other"); !other {
		t.Fatal("another name was blocked")
	}
	unlock()
	unlock() // releasing twice is harmless
	if _, ok := l.TryLock("job"); !ok {
		t.Fatal("a released lock could not be taken")
	}
}
