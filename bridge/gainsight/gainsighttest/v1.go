package gainsighttest

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// v1Field maps a users-v1 body field to its services-dialect field.
func v1Field(k string) (string, bool) {
	switch k {
	case "userId":
		return "Gsid", true
	case "email":
		return "Email", true
	case "firstName":
		return "FirstName", true
	case "lastName":
		return "LastName", true
	case "name":
		return "Name", true
	case "title":
		return "Title", true
	case "timezone":
		return "Timezone", true
	case "locale":
		return "Locale", true
	case "manager":
		return "Manager", true
	case "licenseType":
		return "LicenseType", true
	case "systemType":
		return "SystemType", true
	case "sfdcUserName":
		return "SFDCUserName", true
	case "sfdcUserId":
		return "SfdcUserId", true
	case "companyId":
		return "CompanyID", true
	case "isSuperAdmin":
		return "IsSuperAdmin", true
	}
	if isCustomField(k) {
		return k, true
	}
	return "", false
}

// v1Fields lists the users-v1 names of the plain fields, for the answer.
func v1Fields() []string {
	return []string{"userId", "email", "firstName", "lastName", "name", "title", "timezone",
		"locale", "manager", "licenseType", "systemType", "sfdcUserName", "sfdcUserId",
		"companyId", "isSuperAdmin"}
}

// toV1 renders a stored user in users-v1 field names: role is its first
// permission bundle, isActive its status.
func toV1(rec map[string]any) map[string]any {
	out := map[string]any{"isActive": isTrue(rec["IsActiveUser"])}
	for _, k := range v1Fields() {
		f, _ := v1Field(k)
		if v, ok := rec[f]; ok {
			out[k] = cloneValue(v)
		}
	}
	if _, ok := out["isSuperAdmin"]; !ok {
		out["isSuperAdmin"] = false
	}
	bundles, _ := stringList(rec["permissionBundles"])
	if len(bundles) > 0 {
		out["role"] = bundles[0]
	}
	for k, v := range rec {
		if isCustomField(k) {
			out[k] = cloneValue(v)
		}
	}
	return out
}

// fromV1 translates a users-v1 body into a services-dialect change. role
// becomes permissionBundles [role]; isActive is returned apart, since it is a
// status change.
func (s *Server) fromV1(body map[string]any) (in map[string]any, active *bool, err *recordError) {
	in = map[string]any{}
	for k, v := range body {
		switch k {
		case "role":
			role, ok := v.(string)
			if !ok {
				return nil, nil, invalid(codeBulkUpdate, "role must be a string")
			}
			if !contains(s.tenant.PermissionBundles, role) {
				return nil, nil, invalid(codeBulkUpdate, "role %q does not exist", role)
			}
			in["permissionBundles"] = []any{role}
		case "isActive":
			b, ok := v.(bool)
			if !ok {
				return nil, nil, invalid(codeBulkUpdate, "isActive must be a boolean")
			}
			active = &b
		default:
			f, ok := v1Field(k)
			if !ok {
				return nil, nil, invalid(codeBulkUpdate, "unknown field %s", k)
			}
			in[f] = v
		}
	}
	return in, active, nil
}

// v1Error answers a refused users-v1 write: 400 with the record's code.
func v1Error(e *recordError) response {
	return fail(http.StatusBadRequest, e.code, e.msg)
}

func v1ID(r *http.Request) string { return strings.TrimPrefix(r.URL.Path, "/v1/users/") }

func notFound(id string) response {
	return fail(http.StatusNotFound, "", fmt.Sprintf("user not found: no user with userId %q", id))
}

// handleV1List serves GET /v1/users?page=&pageSize= (page from 1, pageSize
// default 100, at most 1000), inactive users included, in creation order.
// data is {"records":[…], "page":n, "pageSize":n, "totalCount":n}.
func (s *Server) handleV1List(r *http.Request, _ []byte) response {
	q := r.URL.Query()
	page, size := 1, defaultPageSize
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fail(http.StatusBadRequest, "", fmt.Sprintf("page %q must be a number from 1", v))
		}
		page = n
	}
	if v := q.Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			return fail(http.StatusBadRequest, "", fmt.Sprintf("pageSize %q must be a number from 1 to %d", v, maxPageSize))
		}
		size = n
	}
	users := s.sortedUsers()
	records := []map[string]any{}
	for i := (page - 1) * size; i < len(users) && i < page*size; i++ {
		records = append(records, toV1(users[i].rec))
	}
	return ok(map[string]any{"records": records, "page": page, "pageSize": size, "totalCount": len(users)})
}

// handleV1Get serves GET /v1/users/{userId}.
func (s *Server) handleV1Get(r *http.Request, _ []byte) response {
	id := v1ID(r)
	u := s.byGsid[id]
	if u == nil {
		return notFound(id)
	}
	return ok(toV1(u.rec))
}

// handleV1Create serves POST /v1/users: email, firstName, lastName and role
// are required; SFDCUserName defaults to the email.
func (s *Server) handleV1Create(_ *http.Request, body []byte) response {
	var b map[string]any
	if err := decodeStrict(body, &b); err != nil {
		return fail(http.StatusBadRequest, codeBulkCreate, err.Error())
	}
	for _, k := range []string{"email", "firstName", "lastName", "role"} {
		if v, _ := b[k].(string); v == "" {
			return fail(http.StatusBadRequest, codeBulkCreate, k+" is required")
		}
	}
	in, active, rerr := s.fromV1(b)
	if rerr != nil {
		rerr.code = codeBulkCreate
		return v1Error(rerr)
	}
	if _, ok := in["SFDCUserName"]; !ok {
		in["SFDCUserName"] = in["Email"]
	}
	rec, rerr := s.merge(change{in: in, code: codeBulkCreate})
	if rerr != nil {
		return v1Error(rerr)
	}
	rec["Gsid"] = s.newGsid()
	u := s.insert(rec)
	if active != nil && !*active {
		_ = s.setActive(u, false, codeBulkCreate) // deactivation cannot fail
	}
	r := ok(toV1(u.rec))
	r.records = 1
	return r
}

// handleV1Update serves PUT /v1/users/{userId}: a partial update; isActive
// activates or deactivates under the status rules. Nothing is applied when
// any part is refused.
func (s *Server) handleV1Update(r *http.Request, body []byte) response {
	id := v1ID(r)
	u := s.byGsid[id]
	if u == nil {
		return notFound(id)
	}
	var b map[string]any
	if err := decodeStrict(body, &b); err != nil {
		return fail(http.StatusBadRequest, codeBulkUpdate, err.Error())
	}
	in, active, rerr := s.fromV1(b)
	if rerr != nil {
		return v1Error(rerr)
	}
	rec, rerr := s.merge(change{target: u, in: in, code: codeBulkUpdate})
	if rerr != nil {
		return v1Error(rerr)
	}
	if active != nil && *active != isTrue(rec["IsActiveUser"]) {
		trial := &user{rec: rec, seq: u.seq, lastLicense: u.lastLicense}
		if rerr := s.setActive(trial, *active, codeBulkUpdate); rerr != nil {
			return v1Error(rerr)
		}
		u.lastLicense = trial.lastLicense
		rec = trial.rec
	}
	s.setRec(u, rec)
	resp := ok(toV1(u.rec))
	resp.records = 1
	return resp
}

// handleV1Delete serves DELETE /v1/users/{userId}: the user is deactivated,
// never removed.
func (s *Server) handleV1Delete(r *http.Request, _ []byte) response {
	id := v1ID(r)
	u := s.byGsid[id]
	if u == nil {
		return notFound(id)
	}
	_ = s.setActive(u, false, codeBulkUpdate) // deactivation cannot fail
	resp := ok(toV1(u.rec))
	resp.records = 1
	return resp
}
