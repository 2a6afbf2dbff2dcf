package gainsighttest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// maxRecords is the most records one services batch call takes.
const maxRecords = 50

// batchResult answers a batch write: 200 with result true when at least one
// record (or none at all) was sent and any succeeded, 400 with allFailedCode
// when every record failed. data carries success[] and errors[] either way.
func batchResult(success, errs []map[string]any, allFailedCode, what string) response {
	if success == nil {
		success = []map[string]any{}
	}
	if errs == nil {
		errs = []map[string]any{}
	}
	data := map[string]any{"success": success, "errors": errs}
	if len(success) == 0 && len(errs) > 0 {
		r := fail(http.StatusBadRequest, allFailedCode, fmt.Sprintf("%s failed for all %d records", what, len(errs)))
		r.env.Data = data
		return r
	}
	r := ok(data)
	if len(errs) > 0 {
		r.env.Message = fmt.Sprintf("%s: %d succeeded, %d failed", what, len(success), len(errs))
	}
	r.records = len(success)
	return r
}

// decodeStrict decodes a JSON body into v, refusing trailing data.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("invalid JSON body: %w", err)
	}
	if dec.More() {
		return fmt.Errorf("invalid JSON body: trailing data")
	}
	return nil
}

type writeBody struct {
	Records                []map[string]any `json:"records"`
	Lookups                json.RawMessage  `json:"lookups"`
	PermissionBundleAction string           `json:"permissionBundleAction"`
}

// parseWrite reads a create or update body and checks its size.
func parseWrite(body []byte, code string) (writeBody, *response) {
	var b writeBody
	if err := decodeStrict(body, &b); err != nil {
		r := fail(http.StatusBadRequest, code, err.Error())
		return b, &r
	}
	if b.Records == nil {
		r := fail(http.StatusBadRequest, code, "records is required")
		return b, &r
	}
	if len(b.Records) > maxRecords {
		r := fail(http.StatusBadRequest, code, fmt.Sprintf("%d records sent; at most %d are allowed per call", len(b.Records), maxRecords))
		return b, &r
	}
	if l := bytes.TrimSpace(b.Lookups); len(l) > 0 && !bytes.Equal(l, []byte("null")) && !bytes.Equal(l, []byte("{}")) {
		r := fail(http.StatusBadRequest, codeLookup, "lookup configuration invalid: this tenant resolves no lookups; send Manager as a Gsid")
		return b, &r
	}
	return b, nil
}

// handleCreate serves POST /v1/users/services: each record is created in
// order, so a later record of the batch collides with an earlier one.
func (s *Server) handleCreate(_ *http.Request, body []byte) response {
	b, bad := parseWrite(body, codeBulkCreate)
	if bad != nil {
		return *bad
	}
	var success, errs []map[string]any
	for _, in := range b.Records {
		rec, err := s.merge(change{in: in, code: codeBulkCreate})
		if err != nil {
			errs = append(errs, errorEntry(in, "", err))
			continue
		}
		rec["Gsid"] = s.newGsid()
		u := s.insert(rec)
		success = append(success, cloneRecord(u.rec))
	}
	return batchResult(success, errs, codeBulkCreate, "bulk create")
}

// findBy returns the user whose key field equals v (SFDCUserName ignoring
// case).
func (s *Server) findBy(key, v string) *user {
	if key == "Gsid" {
		return s.byGsid[v]
	}
	if key == "SFDCUserName" {
		var first *user
		for _, u := range s.byKey["s:"+foldKey(v)] {
			if first == nil || u.seq < first.seq {
				first = u
			}
		}
		return first
	}
	for _, u := range s.users {
		if f := str(u.rec, key); f != "" && (f == v || key == "SFDCUserName" && strings.EqualFold(f, v)) {
			return u
		}
	}
	return nil
}

// handleUpdate serves PUT /v1/users/services?key=Gsid|SFDCUserName|SfdcUserId.
func (s *Server) handleUpdate(r *http.Request, body []byte) response {
	key := r.URL.Query().Get("key")
	if key == "" {
		key = "Gsid"
	}
	if key != "Gsid" && key != "SFDCUserName" && key != "SfdcUserId" {
		return fail(http.StatusBadRequest, codeKeyNotSupp, fmt.Sprintf("key %q is not supported; use Gsid, SFDCUserName or SfdcUserId", key))
	}
	b, bad := parseWrite(body, codeBulkUpdate)
	if bad != nil {
		return *bad
	}
	var appendBundles bool
	switch b.PermissionBundleAction {
	case "", "overwrite":
	case "append":
		appendBundles = true
	default:
		return fail(http.StatusBadRequest, codeBulkUpdate, fmt.Sprintf("permissionBundleAction %q must be overwrite or append", b.PermissionBundleAction))
	}
	var success, errs []map[string]any
	for _, in := range b.Records {
		kv, _ := in[key].(string)
		if kv == "" {
			errs = append(errs, errorEntry(in, "", invalid(codeBulkUpdate, "key field %s is required", key)))
			continue
		}
		u := s.findBy(key, kv)
		if u == nil {
			errs = append(errs, errorEntry(in, "", invalid(codeBulkUpdate, "user not found: no user with %s %q", key, kv)))
			continue
		}
		if key == "SFDCUserName" {
			// The key field cannot change; the stored spelling is kept.
			in = cloneRecord(in)
			in[key] = str(u.rec, key)
		}
		rec, err := s.merge(change{target: u, in: in, appendBundles: appendBundles, code: codeBulkUpdate})
		if err != nil {
			errs = append(errs, errorEntry(in, str(u.rec, "Gsid"), err))
			continue
		}
		s.setRec(u, rec)
		success = append(success, cloneRecord(u.rec))
	}
	return batchResult(success, errs, codeBulkUpdate, "bulk update")
}

// handleStatus serves PUT /v1/users/services/status?status=true|false with a
// JSON array of Gsids.
func (s *Server) handleStatus(r *http.Request, body []byte) response {
	var active bool
	switch r.URL.Query().Get("status") {
	case "true":
		active = true
	case "false":
	default:
		return fail(http.StatusBadRequest, codeBulkUpdate, "status must be true or false")
	}
	var gsids []string
	if err := decodeStrict(body, &gsids); err != nil {
		return fail(http.StatusBadRequest, codeBulkUpdate, err.Error()+" (want a JSON array of Gsids)")
	}
	if len(gsids) > maxRecords {
		return fail(http.StatusBadRequest, codeBulkUpdate, fmt.Sprintf("%d users sent; at most %d are allowed per call", len(gsids), maxRecords))
	}
	var success, errs []map[string]any
	for _, g := range gsids {
		u := s.byGsid[g]
		if u == nil {
			errs = append(errs, errorEntry(nil, g, invalid(codeBulkUpdate, "user not found: unknown Gsid %q", g)))
			continue
		}
		if err := s.setActive(u, active, codeBulkUpdate); err != nil {
			errs = append(errs, errorEntry(u.rec, g, err))
			continue
		}
		success = append(success, cloneRecord(u.rec))
	}
	return batchResult(success, errs, codeBulkUpdate, "status update")
}
