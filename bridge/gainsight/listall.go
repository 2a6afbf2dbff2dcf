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
// inactive ones included. The caller pages, so it can stop, wait for the
// rate budget and go on where it stopped.

// listCost is the number of calls a listing of total users makes with
// pages of size.
func listCost(total, size int) int {
	if total <= 0 {
		return 1 // the call that finds the tenant empty
	}
	return (total + size - 1) / size
}

// ListPage returns page number page (from 0) of a listing of every user,
// with only fields (and Gsid; no fields: the fields Find returns), and the
// tenant's total number of users (-1 when Gainsight does not say): one
// POST /v1/users/services/list call of 100 users. A page shorter than
// ListPageSize is the last. Read-only.
func (s *services) ListPage(ctx context.Context, fields []string, page int) ([]Record, int, error) {
	if len(fields) == 0 {
		fields = listSelect(s.t.opts.ListFields)
	}
	body := map[string]any{"select": fields, "limit": listPageSize, "includeTotal": true, "page": page}
	resp, err := s.t.call(ctx, request{op: OpList, method: http.MethodPost, path: "/v1/users/services/list", body: body, idempotent: true})
	if err != nil {
		return nil, -1, fmt.Errorf("gainsight: list page %d: %w", page, err)
	}
	recs, total, err := decodeList(resp.env.Data)
	if err != nil {
		return nil, -1, &Error{Op: OpList, Status: resp.status, RequestID: string(resp.env.RequestID), Err: err, reason: ReasonOther}
	}
	s.t.m.records.WithLabelValues(OpList, "ok").Add(float64(len(recs)))
	return recs, total, nil
}

// ListPageSize is the number of users of a full ListPage.
func (s *services) ListPageSize() int { return listPageSize }

// ListCost is the number of calls a listing of a tenant of total users
// makes.
func (s *services) ListCost(total int) int { return listCost(total, listPageSize) }

// FindCost is the number of calls a Find by user names or emails makes in
// a tenant of total users: one list call with the conditions.
func (s *services) FindCost(int) int { return 1 }

// ListPage returns page number page (from 0) of a listing of every user
// and the tenant's total: one GET /v1/users call of 1,000 users (fields is
// ignored: this dialect returns whole users). Read-only.
func (v *usersV1) ListPage(ctx context.Context, _ []string, page int) ([]Record, int, error) {
	resp, err := v.t.call(ctx, request{
		op: OpV1List, method: http.MethodGet, path: "/v1/users",
		query:      url.Values{"page": {strconv.Itoa(page + 1)}, "pageSize": {strconv.Itoa(v1PageSize)}},
		idempotent: true,
	})
	if err != nil {
		return nil, -1, fmt.Errorf("gainsight: list page %d: %w", page, err)
	}
	users, total, err := decodeV1List(resp.env.Data)
	if err != nil {
		return nil, -1, &Error{Op: OpV1List, Status: resp.status, Err: err, reason: ReasonOther}
	}
	v.t.m.records.WithLabelValues(OpV1List, "ok").Add(float64(len(users)))
	return users, total, nil
}

// ListPageSize is the number of users of a full ListPage.
func (v *usersV1) ListPageSize() int { return v1PageSize }

// ListCost is the number of calls a listing of a tenant of total users
// makes.
func (v *usersV1) ListCost(total int) int { return listCost(total, v1PageSize) }

// FindCost is the number of calls a Find by user names or emails makes in
// a tenant of total users: this dialect has no filter, so a Find lists
// the whole tenant.
func (v *usersV1) FindCost(total int) int { return listCost(total, v1PageSize) }
