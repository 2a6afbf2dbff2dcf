package gainsighttest

// SetRefused replaces the values of field the tenant's validation rules
// refuse (Tenant.Refuse); no values lifts the rule. It models an
// administrator changing a rule in Gainsight while the bridge runs, so a
// test can fail a user and then see a retry succeed.
func (s *Server) SetRefused(field string, values ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(values) == 0 {
		delete(s.tenant.Refuse, field)
		return
	}
	s.tenant.Refuse[field] = append([]string(nil), values...)
}
