package scim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	elscim "github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/scim2/filter-parser/v2"
)

// urnSearchRequest is the schema of a POST …/.search body (RFC 7644 §3.4.3).
const urnSearchRequest = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"

// search answers POST <endpoint>/.search (RFC 7644 §3.4.3) as the GET of
// endpoint with the body's parameters as query parameters, so a search
// filters, pages and selects attributes exactly as the GET does. The
// library serves .search itself only through a handler it validates
// filters for without the common attributes (id, externalId, meta), which
// would refuse the externalId look-ups IdPs send.
func (h *handler) search(endpoint string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(r)
		if err != nil {
			writeError(w, scimError(http.StatusBadRequest, scimerrors.ScimTypeInvalidSyntax, "The request body could not be read."))
			return
		}
		q, serr := searchQuery(body)
		if serr != nil {
			writeError(w, *serr)
			return
		}
		get := r.Clone(r.Context())
		get.Method = http.MethodGet
		get.URL.Path = h.opts.BasePath + endpoint
		get.URL.RawPath = ""
		get.URL.RawQuery = q.Encode()
		get.Body = http.NoBody
		get.ContentLength = 0
		get.Header.Del("Content-Type")
		h.serveLibrary(w, get)
	})
}

// searchQuery turns a SearchRequest body into the query parameters of the
// equivalent GET. Parameter names are matched case-insensitively and
// unknown ones ignored, as unknown attributes of resources are; an empty
// body is a search without parameters. attributes and excludedAttributes
// are lists of strings (a single comma-separated string is taken too);
// startIndex and count are integers (numeric strings are taken too).
func searchQuery(body []byte) (url.Values, *scimerrors.ScimError) {
	bad := func(format string, args ...any) (url.Values, *scimerrors.ScimError) {
		e := scimError(http.StatusBadRequest, scimerrors.ScimTypeInvalidSyntax, fmt.Sprintf(format, args...))
		return nil, &e
	}
	m := map[string]any{}
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := decodeJSON(body, &m); err != nil || m == nil {
			return bad("The search request must be a JSON object.")
		}
	}
	if _, v, ok := getKey(m, "schemas"); ok {
		list, _ := v.([]any)
		found := false
		for _, s := range list {
			found = found || s == urnSearchRequest
		}
		if !found {
			return bad("The search request's schemas must be [%q].", urnSearchRequest)
		}
	}
	q := url.Values{}
	for _, name := range []string{"filter", "sortBy", "sortOrder"} {
		_, v, ok := getKey(m, name)
		if !ok || v == nil {
			continue
		}
		s, isStr := v.(string)
		if !isStr {
			return bad("%s must be a string.", name)
		}
		q.Set(name, s)
	}
	for _, name := range []string{"attributes", "excludedAttributes"} {
		_, v, ok := getKey(m, name)
		if !ok || v == nil {
			continue
		}
		var names []string
		switch x := v.(type) {
		case string:
			names = []string{x}
		case []any:
			for _, el := range x {
				s, isStr := el.(string)
				if !isStr {
					return bad("%s must be a list of attribute names.", name)
				}
				names = append(names, s)
			}
		default:
			return bad("%s must be a list of attribute names.", name)
		}
		q.Set(name, strings.Join(names, ","))
	}
	for _, name := range []string{"startIndex", "count"} {
		_, v, ok := getKey(m, name)
		if !ok || v == nil {
			continue
		}
		var s string
		switch x := v.(type) {
		case json.Number:
			s = x.String()
		case string:
			s = strings.TrimSpace(x)
		}
		if _, err := strconv.Atoi(s); err != nil {
			return bad("%s must be an integer.", name)
		}
		q.Set(name, s)
	}
	return q, nil
}

// rootHandler answers queries against the server root (GET / and, through
// search, POST /.search): users and groups together, users first, paged
// as one list (RFC 7644 §3.4.2.1). The filter is evaluated against each
// resource type; an attribute a type does not have has no value there
// (RFC 7644 §3.4.2.2), so "userName eq …" matches no group while
// "not (userName pr)" matches every group. A filter naming an attribute
// neither type has is 400 invalidFilter.
type rootHandler struct{ h *handler }

var _ elscim.RootQueryHandler = rootHandler{}

func (rt rootHandler) GetAll(r *http.Request, params elscim.ListRequestParams) (elscim.Page, error) {
	types := rt.h.schemasOf(r).resourceTypes
	var expr filter.Expression
	if raw := strings.TrimSpace(r.URL.Query().Get("filter")); raw != "" {
		e, err := filter.ParseFilter([]byte(raw))
		if err != nil || !slices.ContainsFunc(types, func(t elscim.ResourceType) bool { return resolveFilter(e, t) }) {
			return elscim.Page{}, scimerrors.ScimErrorInvalidFilter
		}
		unescapeFilter(e)
		expr = e
	}
	base := rt.h.baseURL(r)
	users, err := rt.h.users.list(r, expr, params.StartIndex, params.Count)
	if err != nil {
		return elscim.Page{}, err
	}
	// Groups follow the users: the page goes on with the first group once
	// it has passed the last user.
	offset := max(params.StartIndex-1, 0)
	groups, err := rt.h.groups.list(r, expr, max(offset-users.TotalResults, 0)+1, params.Count-len(users.Resources))
	if err != nil {
		return elscim.Page{}, err
	}
	res := make([]elscim.Resource, 0, len(users.Resources)+len(groups.Resources))
	for _, u := range users.Resources {
		res = append(res, rootResource(u, types[0], base))
	}
	for _, g := range groups.Resources {
		res = append(res, rootResource(g, types[1], base))
	}
	return notePage(r)(elscim.Page{TotalResults: users.TotalResults + groups.TotalResults, Resources: res}, nil)
}

// rootResource adds what the library adds to a resource of a typed list
// and leaves to the root handler: schemas, meta.resourceType and
// meta.location.
func rootResource(res elscim.Resource, rt elscim.ResourceType, base string) elscim.Resource {
	attrs := make(elscim.ResourceAttributes, len(res.Attributes)+2)
	for k, v := range res.Attributes {
		attrs[k] = v
	}
	schemas := []string{rt.Schema.ID}
	for _, e := range rt.SchemaExtensions {
		schemas = append(schemas, e.Schema.ID)
	}
	attrs["schemas"] = schemas
	attrs["meta"] = map[string]any{
		"resourceType": rt.Name,
		"location":     base + rt.Endpoint + "/" + url.PathEscape(res.ID),
	}
	res.Attributes = attrs
	return res
}
