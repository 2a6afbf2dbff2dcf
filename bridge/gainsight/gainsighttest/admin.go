package gainsighttest

import (
	"net/http"
)

// serveAdmin serves the /_sim/ endpoints: GET users, GET stats, GET or POST
// faults, POST reset. They are neither counted, rate limited nor faulted.
func (s *Server) serveAdmin(r *http.Request) response {
	switch {
	case r.URL.Path == "/_sim/users" && r.Method == http.MethodGet:
		return ok(s.Users())
	case r.URL.Path == "/_sim/stats" && r.Method == http.MethodGet:
		return ok(s.Stats())
	case r.URL.Path == "/_sim/faults" && r.Method == http.MethodGet:
		return ok(s.Faults())
	case r.URL.Path == "/_sim/faults" && r.Method == http.MethodPost:
		var f Faults
		body, err := readAll(r)
		if err == nil {
			err = decodeStrict(body, &f)
		}
		if err == nil {
			err = f.Validate()
		}
		if err != nil {
			return fail(http.StatusBadRequest, "", "faults: "+err.Error())
		}
		s.SetFaults(f)
		return ok(s.Faults())
	case r.URL.Path == "/_sim/reset" && r.Method == http.MethodPost:
		s.Reset()
		return ok(nil)
	}
	return fail(http.StatusNotFound, "", "no admin route for "+r.Method+" "+r.URL.Path)
}
