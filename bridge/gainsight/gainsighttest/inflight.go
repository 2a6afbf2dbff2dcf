package gainsighttest

import (
	"encoding/json"
	"net/http"
	"strings"
)

// writeTargets returns the keys of the users a write call touches: a user
// the tenant has is keyed by its SFDCUserName, so a create and an update of
// one person count as the same user; an unknown Gsid by itself. It reads
// the body leniently (a malformed one touches no one) and is called with
// s.mu held.
func (s *Server) writeTargets(op string, r *http.Request, body []byte) []string {
	var keys []string
	byName := func(name, email string) {
		switch {
		case name != "":
			keys = append(keys, "user:"+strings.ToLower(name))
		case email != "":
			keys = append(keys, "email:"+strings.ToLower(email))
		}
	}
	byGsid := func(g string) {
		if u := s.byGsid[g]; u != nil && str(u.rec, "SFDCUserName") != "" {
			byName(str(u.rec, "SFDCUserName"), "")
			return
		}
		keys = append(keys, "gsid:"+g)
	}
	switch op {
	case OpCreate, OpUpdate:
		var b struct {
			Records []map[string]any `json:"records"`
		}
		_ = json.Unmarshal(body, &b)
		for _, rec := range b.Records {
			if g := str(rec, "Gsid"); g != "" && op == OpUpdate {
				byGsid(g)
				continue
			}
			byName(str(rec, "SFDCUserName"), str(rec, "Email"))
		}
	case OpStatus:
		var gsids []string
		_ = json.Unmarshal(body, &gsids)
		for _, g := range gsids {
			byGsid(g)
		}
	case OpV1Create:
		var b map[string]any
		_ = json.Unmarshal(body, &b)
		byName(str(b, "sfdcUserName"), str(b, "email"))
	case OpV1Update, OpV1Delete:
		byGsid(v1ID(r))
	}
	seen := map[string]bool{}
	out := keys[:0]
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

// enter counts a write call as in flight for each of keys, from its
// arrival until its answer is written (or its connection dropped), and
// returns the function that ends it. Stats.MaxInFlightPerUser is the most
// calls ever in flight for one user at once: more than one means two
// writers pushed one user at the same time.
func (s *Server) enter(keys []string) func() {
	if len(keys) == 0 {
		return func() {}
	}
	s.mu.Lock()
	for _, k := range keys {
		s.inFlight[k]++
		if n := s.inFlight[k]; n > s.stats.MaxInFlightPerUser {
			s.stats.MaxInFlightPerUser = n
		}
		if s.inFlight[k] > 1 {
			s.stats.ConcurrentWrites++
		}
	}
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, k := range keys {
			if s.inFlight[k]--; s.inFlight[k] <= 0 {
				delete(s.inFlight, k)
			}
		}
	}
}
