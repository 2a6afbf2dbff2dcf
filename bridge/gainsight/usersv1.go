package gainsight

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// v1PageSize is the page size of users-v1 list calls (the dialect's maximum).
const v1PageSize = 1000

// v1Fields maps Record fields to users-v1 JSON fields. Custom fields
// ("…__gc") keep their names; other Record fields are not sent.
// permissionBundles ⇄ role is handled apart: the dialect has one role.
//
//	Record             users-v1
//	Gsid               userId (the path on writes, never in a body)
//	Email              email
//	FirstName          firstName
//	LastName           lastName
//	Name               name
//	Title              title
//	Timezone           timezone
//	Locale             locale
//	Manager            manager
//	LicenseType        licenseType
//	SystemType         systemType
//	SFDCUserName       sfdcUserName
//	SfdcUserId         sfdcUserId
//	CompanyID          companyId
//	IsSuperAdmin       isSuperAdmin
//	IsActiveUser       isActive
//	permissionBundles  role ([]string of at most one ⇄ string)
func v1Fields() map[string]string {
	return map[string]string{
		"Gsid": "userId", "Email": "email", "FirstName": "firstName", "LastName": "lastName",
		"Name": "name", "Title": "title", "Timezone": "timezone", "Locale": "locale",
		"Manager": "manager", "LicenseType": "licenseType", "SystemType": "systemType",
		"SFDCUserName": "sfdcUserName", "SfdcUserId": "sfdcUserId", "CompanyID": "companyId",
		"IsSuperAdmin": "isSuperAdmin", "IsActiveUser": "isActive",
	}
}

// usersV1 is the per-user /v1/users surface. Batch methods fan out into
// one call per item, at most Options.Concurrency at a time; each call
// spends budget.
type usersV1 struct{ t *transport }

// NextSlot returns when the next call (an urgent one: WithUrgent) could be
// sent, spending nothing.
func (u *usersV1) NextSlot(ctx context.Context, now time.Time, urgent bool) (time.Time, error) {
	return u.t.NextSlot(ctx, now, urgent)
}

var _ Client = (*usersV1)(nil)

// Create sends POST /v1/users per record. email, firstName, lastName and
// role are required: a missing first/last name is split from Name, a
// missing role is Options.DefaultRole; records that still lack one fail
// locally, without a call.
func (v *usersV1) Create(ctx context.Context, records []Record) ([]Result, error) {
	if err := checkBatch(len(records)); err != nil {
		return nil, fmt.Errorf("gainsight: create: %w", err)
	}
	return v.fanOut(ctx, len(records), func(ctx context.Context, i int) Result {
		body, err := v.toV1(OpV1Create, records[i], true)
		if err != nil {
			return Result{Err: err}
		}
		resp, cerr := v.t.call(ctx, request{
			op: OpV1Create, method: http.MethodPost, path: "/v1/users", body: body, records: 1,
		})
		return v.userResult(OpV1Create, resp, cerr, "")
	})
}

// Update sends PUT /v1/users/{Gsid} per record with the fields present.
func (v *usersV1) Update(ctx context.Context, records []Record) ([]Result, error) {
	if err := checkBatch(len(records)); err != nil {
		return nil, fmt.Errorf("gainsight: update: %w", err)
	}
	for i, r := range records {
		if r.GSID() == "" {
			return nil, fmt.Errorf("gainsight: update: record %d has no Gsid", i)
		}
	}
	return v.fanOut(ctx, len(records), func(ctx context.Context, i int) Result {
		gsid := records[i].GSID()
		body, err := v.toV1(OpV1Update, records[i], false)
		if err != nil {
			return Result{GSID: gsid, Err: err}
		}
		resp, cerr := v.t.call(ctx, request{
			op: OpV1Update, method: http.MethodPut, path: "/v1/users/" + url.PathEscape(gsid),
			body: body, records: 1, idempotent: true,
		})
		return v.userResult(OpV1Update, resp, cerr, gsid)
	})
}

// SetStatus deactivates with DELETE /v1/users/{id} and activates with PUT
// /v1/users/{id} {"isActive": true}.
func (v *usersV1) SetStatus(ctx context.Context, gsids []string, active bool) ([]Result, error) {
	if err := checkBatch(len(gsids)); err != nil {
		return nil, fmt.Errorf("gainsight: status: %w", err)
	}
	for i, g := range gsids {
		if g == "" {
			return nil, fmt.Errorf("gainsight: status: GSID %d is empty", i)
		}
	}
	return v.fanOut(ctx, len(gsids), func(ctx context.Context, i int) Result {
		req := request{
			op: OpV1Delete, method: http.MethodDelete, path: "/v1/users/" + url.PathEscape(gsids[i]),
			records: 1, idempotent: true,
		}
		if active {
			req.op, req.method, req.body = OpV1Update, http.MethodPut, map[string]any{"isActive": true}
		}
		resp, cerr := v.t.call(ctx, req)
		return v.userResult(req.op, resp, cerr, gsids[i])
	})
}

// Find has no server-side filter in this dialect: conditions that are all
// "Gsid EQ" are answered with GET /v1/users/{id} each; anything else lists
// every user (GET /v1/users, pages of 1000 numbered from 1) and filters
// locally.
func (v *usersV1) Find(ctx context.Context, conds []Condition) ([]Record, error) {
	if ids, ok := gsidLookups(conds); ok {
		var out []Record
		for _, id := range ids {
			resp, err := v.t.call(ctx, request{op: OpV1Get, method: http.MethodGet, path: "/v1/users/" + url.PathEscape(id), idempotent: true})
			if e, ok := errorsAs(err); ok && e.Reason() == ReasonNotFound {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("gainsight: find %s: %w", id, err)
			}
			rec, err := decodeV1User(resp.env.Data)
			if err != nil {
				return nil, &Error{Op: OpV1Get, Status: resp.status, Err: err, reason: ReasonOther}
			}
			v.t.m.records.WithLabelValues(OpV1Get, "ok").Inc()
			out = append(out, rec)
		}
		return out, nil
	}
	var out []Record
	for page := 1; page <= maxListPages; page++ {
		resp, err := v.t.call(ctx, request{
			op: OpV1List, method: http.MethodGet, path: "/v1/users",
			query:      url.Values{"page": {strconv.Itoa(page)}, "pageSize": {strconv.Itoa(v1PageSize)}},
			idempotent: true,
		})
		if err != nil {
			return nil, fmt.Errorf("gainsight: find page %d: %w", page, err)
		}
		users, total, err := decodeV1List(resp.env.Data)
		if err != nil {
			return nil, &Error{Op: OpV1List, Status: resp.status, Err: err, reason: ReasonOther}
		}
		v.t.m.records.WithLabelValues(OpV1List, "ok").Add(float64(len(users)))
		for _, u := range users {
			if matchAny(u, conds) {
				out = append(out, u)
			}
		}
		seen := (page-1)*v1PageSize + len(users)
		if len(users) < v1PageSize || (total >= 0 && seen >= total) {
			return out, nil
		}
	}
	return nil, fmt.Errorf("gainsight: find: more than %d pages", maxListPages)
}

// gsidLookups returns the GSIDs to get when every condition is "Gsid EQ".
func gsidLookups(conds []Condition) ([]string, bool) {
	if len(conds) == 0 {
		return nil, false
	}
	var ids []string
	for _, c := range conds {
		if c.Name != "Gsid" || !strings.EqualFold(c.Operator, "EQ") && c.Operator != "" {
			return nil, false
		}
		ids = append(ids, c.Values...)
	}
	return ids, true
}

// matchAny applies conditions locally: EQ matches when the field equals any
// value, NE when it equals none; strings compare case-insensitively.
func matchAny(r Record, conds []Condition) bool {
	if len(conds) == 0 {
		return true
	}
	for _, c := range conds {
		have := str(r[c.Name])
		eq := false
		for _, want := range c.Values {
			if strings.EqualFold(have, want) {
				eq = true
				break
			}
		}
		if strings.EqualFold(c.Operator, "NE") {
			eq = !eq
		}
		if eq {
			return true
		}
	}
	return false
}

// fanOut runs one call per item with bounded concurrency. The batch fails
// as a whole only when ctx ended, or when every item failed for a reason
// that is not the item's own (auth, rate limit, server, network): then the
// first such error is returned, as a batch call would have.
func (v *usersV1) fanOut(ctx context.Context, n int, one func(context.Context, int) Result) ([]Result, error) {
	if n == 0 {
		return nil, nil
	}
	results := make([]Result, n)
	sem := make(chan struct{}, v.t.opts.Concurrency)
	var wg sync.WaitGroup
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return nil, fmt.Errorf("gainsight: batch of %d: %w", n, ctx.Err())
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			results[i] = one(ctx, i)
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("gainsight: batch of %d: %w", n, err)
	}
	var firstCallErr error
	for _, r := range results {
		if r.Err == nil {
			return results, nil
		}
		switch ReasonOf(r.Err) {
		case ReasonValidation, ReasonDuplicate, ReasonNotFound:
			return results, nil
		}
		if firstCallErr == nil {
			firstCallErr = r.Err
		}
	}
	return nil, firstCallErr
}

// userResult turns a single-user call into a Result, counting the record.
func (v *usersV1) userResult(op string, resp *response, err error, gsid string) Result {
	if err != nil {
		v.t.m.records.WithLabelValues(op, "error").Inc()
		return Result{GSID: gsid, Err: err}
	}
	res := Result{GSID: gsid}
	if resp != nil {
		res.RequestID = string(resp.env.RequestID)
	}
	if resp != nil && len(resp.env.Data) > 0 && string(resp.env.Data) != "null" {
		if rec, derr := decodeV1User(resp.env.Data); derr == nil {
			res.Record = rec
			if g := rec.GSID(); g != "" {
				res.GSID = g
			}
		}
	}
	if res.GSID == "" {
		v.t.m.records.WithLabelValues(op, "error").Inc()
		res.Err = &Error{Op: op, Status: resp.status, Message: "Gainsight returned no userId", RequestID: string(resp.env.RequestID), reason: ReasonOther}
		return res
	}
	v.t.m.records.WithLabelValues(op, "ok").Inc()
	return res
}

// toV1 maps a Record to a users-v1 body. Gsid is never sent (it is the
// path). On create the required fields are filled or checked.
func (v *usersV1) toV1(op string, r Record, create bool) (map[string]any, error) {
	names := v1Fields()
	body := map[string]any{}
	for k, val := range r {
		switch {
		case k == "Gsid":
		case k == "permissionBundles":
			roles, err := toStrings(val)
			if err != nil {
				return nil, &Error{Op: op, Message: "permissionBundles: " + err.Error(), reason: ReasonValidation}
			}
			switch len(roles) {
			case 0:
			case 1:
				body["role"] = roles[0]
			default:
				return nil, &Error{Op: op, Message: fmt.Sprintf("the users-v1 API carries one role; the record has %d permission bundles", len(roles)), reason: ReasonValidation}
			}
		case strings.HasSuffix(k, "__gc"):
			body[k] = val
		case names[k] != "":
			body[names[k]] = val
		}
	}
	if !create {
		return body, nil
	}
	if _, ok := body["role"]; !ok && v.t.opts.DefaultRole != "" {
		body["role"] = v.t.opts.DefaultRole
	}
	if str(body["firstName"]) == "" && str(body["lastName"]) == "" {
		if first, last, ok := strings.Cut(strings.TrimSpace(str(body["name"])), " "); ok {
			body["firstName"], body["lastName"] = first, strings.TrimSpace(last)
		}
	}
	var missing []string
	for _, f := range []string{"email", "firstName", "lastName", "role"} {
		if str(body[f]) == "" {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return nil, &Error{Op: op, Message: "missing required fields: " + strings.Join(missing, ", "), reason: ReasonValidation}
	}
	return body, nil
}

// fromV1 maps a users-v1 user to a Record.
func fromV1(u map[string]any) Record {
	back := map[string]string{}
	for k, v := range v1Fields() {
		back[v] = k
	}
	r := Record{}
	for k, val := range u {
		switch {
		case k == "role":
			if s := str(val); s != "" {
				r["permissionBundles"] = []string{s}
			}
		case strings.HasSuffix(k, "__gc"):
			r[k] = val
		case back[k] != "":
			r[back[k]] = val
		}
	}
	return r
}

func decodeV1User(data json.RawMessage) (Record, error) {
	var u map[string]any
	if err := json.Unmarshal(data, &u); err != nil {
		return nil, fmt.Errorf("decode user: %w", err)
	}
	if u == nil {
		return nil, errors.New("decode user: no data")
	}
	return fromV1(u), nil
}

// decodeV1List reads a users-v1 list page: an array of users, or an object
// holding one ("users", "records", "data", "content") with an optional
// total. total is -1 when absent.
func decodeV1List(data json.RawMessage) ([]Record, int, error) {
	raw, total, err := decodeList(data)
	if err != nil {
		return nil, -1, err
	}
	if raw == nil {
		var obj map[string]json.RawMessage
		if json.Unmarshal(data, &obj) == nil {
			if v, ok := obj["content"]; ok {
				if err := json.Unmarshal(v, &raw); err != nil {
					return nil, -1, fmt.Errorf("decode list content: %w", err)
				}
			}
		}
	}
	out := make([]Record, len(raw))
	for i, u := range raw {
		out[i] = fromV1(u)
	}
	return out, total, nil
}

// toStrings reads a []string or a JSON list of strings.
func toStrings(v any) ([]string, error) {
	switch t := v.(type) {
	case nil:
		return nil, nil
	case []string:
		return t, nil
	case []any:
		out := make([]string, len(t))
		for i, e := range t {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("%v is not a string", e)
			}
			out[i] = s
		}
		return out, nil
	}
	return nil, errors.New("must be a list of strings")
}
