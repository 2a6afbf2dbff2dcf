package gainsight

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"
)

// listPageSize is the page size of services list calls.
const listPageSize = 100

// maxListPages bounds a Find that Gainsight keeps paging.
const maxListPages = 10000

// listSelect is the set of fields Find asks for: the standard ones and
// Options.ListFields.
func listSelect(extra []string) []string {
	return append([]string{
		"Gsid", "FirstName", "LastName", "Name", "Email", "SFDCUserName", "SfdcUserId",
		"Title", "Timezone", "Locale", "Manager", "LicenseType", "SystemType", "IsActiveUser",
		"IsSuperAdmin", "CompanyID", "permissionBundles",
	}, extra...)
}

// services is the documented User Management API (/v1/users/services...).
type services struct{ t *transport }

var _ Client = (*services)(nil)

// Create sends POST /v1/users/services?notify=false. Results are matched
// to the input by position fields Gainsight echoes (see matchBatch). It is
// retried only when Gainsight cannot have created anyone (429, connection
// refused): after a timeout or 5xx the outcome is unknown and the caller
// must look the users up.
// NextSlot returns when the next call (an urgent one: WithUrgent) could be
// sent, spending nothing.
func (s *services) NextSlot(ctx context.Context, now time.Time, urgent bool) (time.Time, error) {
	return s.t.NextSlot(ctx, now, urgent)
}

func (s *services) Create(ctx context.Context, records []Record) ([]Result, error) {
	if err := checkBatch(len(records)); err != nil {
		return nil, fmt.Errorf("gainsight: create: %w", err)
	}
	if len(records) == 0 {
		return nil, nil
	}
	resp, err := s.t.call(ctx, request{
		op: OpCreate, method: http.MethodPost, path: "/v1/users/services",
		query: url.Values{"notify": {"false"}}, body: map[string]any{"records": records},
		records: len(records),
	})
	keys := make([]matchKeys, len(records))
	for i, r := range records {
		keys[i] = recordKeys(r)
	}
	return s.t.batchResults(OpCreate, resp, err, keys, true)
}

// Update sends PUT /v1/users/services?key=Gsid with permissionBundleAction
// overwrite. Every record must carry its Gsid.
func (s *services) Update(ctx context.Context, records []Record) ([]Result, error) {
	if err := checkBatch(len(records)); err != nil {
		return nil, fmt.Errorf("gainsight: update: %w", err)
	}
	if len(records) == 0 {
		return nil, nil
	}
	keys := make([]matchKeys, len(records))
	for i, r := range records {
		if r.GSID() == "" {
			return nil, fmt.Errorf("gainsight: update: record %d has no Gsid", i)
		}
		keys[i] = recordKeys(r)
	}
	resp, err := s.t.call(ctx, request{
		op: OpUpdate, method: http.MethodPut, path: "/v1/users/services",
		query:   url.Values{"key": {"Gsid"}},
		body:    map[string]any{"records": records, "permissionBundleAction": "overwrite"},
		records: len(records), idempotent: true,
	})
	return s.t.batchResults(OpUpdate, resp, err, keys, false)
}

// SetStatus sends PUT /v1/users/services/status?status=true|false with the
// GSIDs as a JSON array.
func (s *services) SetStatus(ctx context.Context, gsids []string, active bool) ([]Result, error) {
	if err := checkBatch(len(gsids)); err != nil {
		return nil, fmt.Errorf("gainsight: status: %w", err)
	}
	if len(gsids) == 0 {
		return nil, nil
	}
	keys := make([]matchKeys, len(gsids))
	for i, g := range gsids {
		if g == "" {
			return nil, fmt.Errorf("gainsight: status: GSID %d is empty", i)
		}
		keys[i] = matchKeys{gsid: g}
	}
	resp, err := s.t.call(ctx, request{
		op: OpStatus, method: http.MethodPut, path: "/v1/users/services/status",
		query: url.Values{"status": {fmt.Sprint(active)}}, body: gsids,
		records: len(gsids), idempotent: true,
	})
	return s.t.batchResults(OpStatus, resp, err, keys, false)
}

// Find sends POST /v1/users/services/list, one condition per Condition
// (aliases A, B, C, ...) joined by OR, and follows pages until a short
// page or the reported total. No conditions lists every user.
func (s *services) Find(ctx context.Context, conds []Condition) ([]Record, error) {
	body := map[string]any{
		"select":       listSelect(s.t.opts.ListFields),
		"limit":        listPageSize,
		"includeTotal": true,
	}
	if len(conds) > 0 {
		cs := make([]map[string]any, len(conds))
		aliases := make([]string, len(conds))
		for i, c := range conds {
			op := strings.ToUpper(c.Operator)
			if op == "" {
				op = "EQ"
			}
			aliases[i] = alias(i)
			cs[i] = map[string]any{"name": c.Name, "alias": aliases[i], "operator": op, "value": c.Values}
		}
		body["where"] = map[string]any{"conditions": cs, "expression": strings.Join(aliases, " OR ")}
	}
	var out []Record
	for page := 0; page < maxListPages; page++ {
		body["page"] = page
		resp, err := s.t.call(ctx, request{
			op: OpList, method: http.MethodPost, path: "/v1/users/services/list",
			body: body, idempotent: true,
		})
		if err != nil {
			return nil, fmt.Errorf("gainsight: find page %d: %w", page, err)
		}
		recs, total, err := decodeList(resp.env.Data)
		if err != nil {
			return nil, &Error{Op: OpList, Status: resp.status, RequestID: string(resp.env.RequestID), Err: err, reason: ReasonOther}
		}
		out = append(out, recs...)
		s.t.m.records.WithLabelValues(OpList, "ok").Add(float64(len(recs)))
		if len(recs) < listPageSize || (total >= 0 && len(out) >= total) {
			return out, nil
		}
	}
	return nil, fmt.Errorf("gainsight: find: more than %d pages", maxListPages)
}

// alias names the i-th condition A, B, ..., Z, AA, AB, ...
func alias(i int) string {
	s := ""
	for i++; i > 0; i = (i - 1) / 26 {
		s = string(rune('A'+(i-1)%26)) + s
	}
	return s
}

// decodeList reads the records of a list page: data is either an array of
// records or an object holding one ("records", "data", "users") with an
// optional total ("total", "totalCount", "count"). total is -1 when absent.
func decodeList(data json.RawMessage) ([]Record, int, error) {
	if len(data) == 0 || string(data) == "null" {
		return nil, -1, nil
	}
	var arr []Record
	if err := json.Unmarshal(data, &arr); err == nil {
		return arr, -1, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, -1, fmt.Errorf("decode list data: %w", err)
	}
	total := -1
	for _, k := range []string{"total", "totalCount", "count"} {
		if v, ok := obj[k]; ok {
			var n float64
			if json.Unmarshal(v, &n) == nil {
				total = int(n)
				break
			}
		}
	}
	for _, k := range []string{"records", "data", "users"} {
		if v, ok := obj[k]; ok {
			if err := json.Unmarshal(v, &arr); err != nil {
				return nil, -1, fmt.Errorf("decode list %s: %w", k, err)
			}
			return arr, total, nil
		}
	}
	return nil, total, nil
}

func checkBatch(n int) error {
	if n > MaxBatch {
		return fmt.Errorf("%d items exceed the batch limit of %d", n, MaxBatch)
	}
	return nil
}

// matchKeys are the fields a batch entry may be matched to an input by.
type matchKeys struct {
	gsid, sfdcUserName, email string
}

func recordKeys(r Record) matchKeys {
	return matchKeys{gsid: r.GSID(), sfdcUserName: str(r["SFDCUserName"]), email: str(r["Email"])}
}

// batchData is the data of a batch write: success and errors entries.
type batchData struct {
	Success []json.RawMessage `json:"success"`
	Errors  []json.RawMessage `json:"errors"`
}

// batchResults turns the answer of a batch call into one Result per input.
//
// Matching: Gainsight answers with data.success[] (records, or GSIDs for
// status) and data.errors[] (objects naming the record, sometimes nested
// under "record", with errorMessage), not in input order. Each entry is
// matched to the first input not yet matched that has, in this order, the
// same index (when the entry carries "index"), the same Gsid, the same
// SFDCUserName, or the same Email (names and emails case-insensitively). An
// input left without an entry gets an error of reason "other": its outcome
// is unknown. A successful call whose data holds no success/errors lists at
// all (status and update may answer so) succeeds for every input, except a
// create, which must name the GSIDs it minted.
//
// A call that failed as a whole but still carries per-record entries (a 400
// GU_2401 listing each bad record) yields per-record results, not an error.
func (t *transport) batchResults(op string, resp *response, callErr error, keys []matchKeys, create bool) ([]Result, error) {
	var bd batchData
	hasBatch := false
	if resp != nil && len(resp.env.Data) > 0 {
		var probe map[string]json.RawMessage
		if json.Unmarshal(resp.env.Data, &probe) == nil {
			_, s := probe["success"]
			_, e := probe["errors"]
			hasBatch = s || e
			if hasBatch {
				if err := json.Unmarshal(resp.env.Data, &bd); err != nil {
					return nil, &Error{Op: op, Status: resp.status, RequestID: string(resp.env.RequestID),
						Err: fmt.Errorf("decode batch data: %w", err), reason: ReasonOther}
				}
			}
		}
	}
	if callErr != nil && (!hasBatch || len(bd.Success)+len(bd.Errors) == 0) {
		t.m.records.WithLabelValues(op, "error").Add(float64(len(keys)))
		return nil, callErr
	}
	requestID := string(resp.env.RequestID)
	results := make([]Result, len(keys))
	done := make([]bool, len(keys))
	for _, raw := range bd.Success {
		rec, key, idx := decodeEntry(raw)
		i := matchEntry(keys, done, key, idx)
		if i < 0 {
			t.log.Debug("unmatched success entry", zap.String("operation", op))
			continue
		}
		done[i] = true
		gsid := key.gsid
		if gsid == "" {
			gsid = keys[i].gsid
		}
		results[i] = Result{GSID: gsid, Record: rec, RequestID: requestID}
		if gsid == "" && create {
			e := recordError(op, "", "Gainsight reported success without a Gsid", requestID)
			e.reason = ReasonOther
			results[i].Err = e
		}
	}
	for _, raw := range bd.Errors {
		rec, key, idx := decodeEntry(raw)
		i := matchEntry(keys, done, key, idx)
		if i < 0 {
			t.log.Debug("unmatched error entry", zap.String("operation", op))
			continue
		}
		done[i] = true
		code, msg := entryError(rec)
		if msg == "" {
			msg = "rejected by Gainsight"
		}
		results[i] = Result{GSID: keys[i].gsid, Err: recordError(op, code, msg, requestID)}
	}
	for i := range results {
		if done[i] {
			continue
		}
		if !hasBatch && callErr == nil && !create {
			results[i] = Result{GSID: keys[i].gsid, RequestID: requestID}
			continue
		}
		e := recordError(op, "", "Gainsight returned no result for this record", requestID)
		e.reason = ReasonOther
		results[i] = Result{GSID: keys[i].gsid, Err: e}
	}
	ok := 0
	for _, r := range results {
		if r.Err == nil {
			ok++
		}
	}
	t.m.records.WithLabelValues(op, "ok").Add(float64(ok))
	t.m.records.WithLabelValues(op, "error").Add(float64(len(results) - ok))
	return results, nil
}

// decodeEntry reads one success or errors entry: a bare GSID string, or an
// object (the record itself, or naming it under "record"/"input").
func decodeEntry(raw json.RawMessage) (Record, matchKeys, int) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return nil, matchKeys{gsid: s}, -1
	}
	var rec Record
	if json.Unmarshal(raw, &rec) != nil {
		return nil, matchKeys{}, -1
	}
	idx := -1
	if v, ok := lookup(rec, "index"); ok {
		if f, ok := v.(float64); ok {
			idx = int(f)
		}
	}
	key := matchKeys{
		gsid:         str(first(rec, "Gsid", "gsid", "id")),
		sfdcUserName: str(first(rec, "SFDCUserName")),
		email:        str(first(rec, "Email")),
	}
	for _, nested := range []string{"record", "input", "data"} {
		if v, ok := lookup(rec, nested); ok {
			if m, ok := v.(map[string]any); ok {
				n := Record(m)
				if key.gsid == "" {
					key.gsid = str(first(n, "Gsid", "gsid"))
				}
				if key.sfdcUserName == "" {
					key.sfdcUserName = str(first(n, "SFDCUserName"))
				}
				if key.email == "" {
					key.email = str(first(n, "Email"))
				}
			}
		}
	}
	return rec, key, idx
}

// entryError reads an errors entry's code and message.
func entryError(rec Record) (string, string) {
	return str(first(rec, "errorCode", "code")), str(first(rec, "errorMessage", "message", "errorDesc", "error"))
}

// matchEntry finds the input an entry belongs to, or -1.
func matchEntry(keys []matchKeys, done []bool, key matchKeys, idx int) int {
	if idx >= 0 && idx < len(keys) && !done[idx] {
		return idx
	}
	for _, f := range []func(matchKeys) string{
		func(k matchKeys) string { return k.gsid },
		func(k matchKeys) string { return k.sfdcUserName },
		func(k matchKeys) string { return k.email },
	} {
		want := f(key)
		if want == "" {
			continue
		}
		for i, k := range keys {
			if !done[i] && strings.EqualFold(f(k), want) {
				return i
			}
		}
	}
	return -1
}

// lookup finds a field by name, case-insensitively.
func lookup(r map[string]any, name string) (any, bool) {
	if v, ok := r[name]; ok {
		return v, true
	}
	for k, v := range r {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

// first is the first of the named fields present with a non-empty value.
func first(r map[string]any, names ...string) any {
	for _, n := range names {
		if v, ok := lookup(r, n); ok && v != nil && v != "" {
			return v
		}
	}
	return nil
}

// str renders a scalar field as a string ("" for nil and non-scalars).
func str(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64, bool, int, int64, json.Number:
		return fmt.Sprint(v)
	}
	return ""
}

// errorsAs is errors.As for *Error.
func errorsAs(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
