package gainsight

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// A listing of the whole tenant, a page at a time: what the sync engine's
// tenant snapshot is taken from. Both dialects page through every user,
// inactive ones included.

// ListPage receives one page of a listing and the tenant's total number of
// users (-1 when Gainsight does not say); it returns false to stop the
// listing after this page.
type ListPage func(records []Record, total int) (more bool, err error)

// listCost is the number of calls a listing of total users makes with
// pages of size.
func listCost(total, size int) int {
	if total <= 0 {
		return 1 // the call that finds the tenant empty
	}
	return (total + size - 1) / size
}

// ListAll lists every user with only fields (and Gsid), one
// POST /v1/users/services/list call per 100 users, and hands each page to
// page. Read-only.
func (s *services) ListAll(ctx context.Context, fields []string, page ListPage) error {
	body := map[string]any{"select": fields, "limit": listPageSize, "includeTotal": true}
	seen := 0
	for p := 0; p < maxListPages; p++ {
		body["page"] = p
		resp, err := s.t.call(ctx, request{op: OpList, method: http.MethodPost, path: "/v1/users/services/list", body: body, idempotent: true})
		if err != nil {
			return fmt.Errorf("gainsight: list page %d: %w", p, err)
		}
		recs, total, err := decodeList(resp.env.Data)
		if err != nil {
			return &Error{Op: OpList, Status: resp.status, RequestID: string(resp.env.RequestID), Err: err, reason: ReasonOther}
		}
		s.t.m.records.WithLabelValues(OpList, "ok").Add(float64(len(recs)))
		seen += len(recs)
		more, err := page(recs, total)
		if err != nil || !more || len(recs) < listPageSize || (total >= 0 && seen >= total) {
			return err
		}
	}
	return fmt.Errorf("gainsight: list: more than %d pages", maxListPages)
}

// ListCost is the number of calls ListAll makes for a tenant of total
// users.
func (s *services) ListCost(total int) int { return listCost(total, listPageSize) }

// FindCost is the number of calls a Find by user names or emails makes in
// a tenant of total users: one list call with the conditions.
func (s *services) FindCost(int) int { return 1 }

// ListAll lists every user, one GET /v1/users call per 1,000 users, and
// hands each page to page (fields is ignored: this dialect returns whole
// users). Read-only.
func (v *usersV1) ListAll(ctx context.Context, _ []string, page ListPage) error {
	seen := 0
	for p := 1; p <= maxListPages; p++ {
		resp, err := v.t.call(ctx, request{
			op: OpV1List, method: http.MethodGet, path: "/v1/users",
			query:      url.Values{"page": {strconv.Itoa(p)}, "pageSize": {strconv.Itoa(v1PageSize)}},
			idempotent: true,
		})
		if err != nil {
			return fmt.Errorf("gainsight: list page %d: %w", p, err)
		}
		users, total, err := decodeV1List(resp.env.Data)
		if err != nil {
			return &Error{Op: OpV1List, Status: resp.status, Err: err, reason: ReasonOther}
		}
		v.t.m.records.WithLabelValues(OpV1List, "ok").Add(float64(len(users)))
		seen += len(users)
		more, err := page(users, total)
		if err != nil || !more || len(users) < v1PageSize || (total >= 0 && seen >= total) {
			return err
		}
	}
	return fmt.Errorf("gainsight: list: more than %d pages", maxListPages)
}

// ListCost is the number of calls ListAll makes for a tenant of total
// users.
func (v *usersV1) ListCost(total int) int { return listCost(total, v1PageSize) }

// FindCost is the number of calls a Find by user names or emails makes in
// a tenant of total users: this dialect has no filter, so a Find lists
// the whole tenant.
func (v *usersV1) FindCost(total int) int { return listCost(total, v1PageSize) }
