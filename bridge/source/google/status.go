package google

import (
	"sync"
	"time"
)

// Status is what this process's polls found last, for the console.
type Status struct {
	// LastPoll is when the last poll of this process ended (zero: none
	// yet; another replica may be the one polling).
	LastPoll    time.Time
	LastSuccess time.Time
	// LastError is the last poll's error, "" when it succeeded.
	LastError     string
	UsersInScope  int
	GroupsInScope int
}

type status struct {
	mu sync.Mutex
	s  Status
}

func (s *Source) noteStatus(ch Changes, err error) {
	s.status.mu.Lock()
	defer s.status.mu.Unlock()
	now := s.opts.Now()
	s.status.s.LastPoll = now
	if err != nil {
		s.status.s.LastError = err.Error()
		return
	}
	s.status.s.LastError, s.status.s.LastSuccess = "", now
	s.status.s.UsersInScope, s.status.s.GroupsInScope = ch.UsersInScope, ch.GroupsInScope
}

// Status returns what this process's polls found last.
func (s *Source) Status() Status {
	s.status.mu.Lock()
	defer s.status.mu.Unlock()
	return s.status.s
}
