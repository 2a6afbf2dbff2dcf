package store

import "sync"

// ProcessLocks are named locks held in memory, for backends that serve one
// process (SQLite, memory): they keep two runs of one periodic job in the
// process from overlapping. The zero value is ready to use.
type ProcessLocks struct {
	mu   sync.Mutex
	held map[string]bool
}

// TryLock takes the named lock if it is free and returns the function that
// releases it (once, however often it is called).
func (l *ProcessLocks) TryLock(name string) (unlock func(), ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held[name] {
		return nil, false
	}
	if l.held == nil {
		l.held = map[string]bool{}
	}
	l.held[name] = true
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			delete(l.held, name)
			l.mu.Unlock()
		})
	}, true
}
