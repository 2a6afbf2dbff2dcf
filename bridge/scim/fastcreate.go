package scim

import (
	"encoding/json"
	"net/http"

	elscim "github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/schema"
	"go.uber.org/zap"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// A POST /Users — every user an identity provider pushes — and a PUT
// /Users/{id} — Okta's profile updates — are answered here rather than by
// the library, with the library's validation and the library's response.
// The library decodes the body a second time, builds the schema it
// validates against anew for every request (compiling a regular
// expression to check the name of externalId, which is a constant), and
// encodes a created user from maps copied twice, by reflection: together
// about a sixth of a create's CPU and a quarter of its allocations. Here
// the body decoded once by normalizeBody is validated against that schema
// built once per configuration; the created user is written out as
// serveUser writes a stored one, a replaced one as the library writes it.
// A body the validation refuses goes to the library, which refuses it with
// its own error; so does a request with attributes or excludedAttributes.

// withCommonAttributes is s with the common attribute the library adds to
// every resource type's schema before it validates a resource
// (ResourceType.schemaWithCommon): externalId, a case-exact read-write
// string.
func withCommonAttributes(s schema.Schema) schema.Schema {
	externalID := schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
		CaseExact:  true,
		Mutability: schema.AttributeMutabilityReadWrite(),
		Name:       schema.CommonAttributeExternalID,
		Uniqueness: schema.AttributeUniquenessNone(),
	}))
	attrs := make([]schema.CoreAttribute, len(s.Attributes), len(s.Attributes)+1)
	copy(attrs, s.Attributes)
	s.Attributes = append(attrs, externalID)
	return s
}

// validateResource validates doc, a POST or PUT body decoded as the
// library decodes it, as the library validates it (ResourceType.validate),
// and reports whether it is valid.
func validateResource(set *schemaSet, doc map[string]any) (elscim.ResourceAttributes, bool) {
	attrs, serr := set.userCreate.Validate(doc)
	if serr != nil {
		return nil, false
	}
	for _, ext := range set.resourceTypes[0].SchemaExtensions {
		v := doc[ext.Schema.ID]
		if v == nil {
			if ext.Required {
				return nil, false
			}
			continue
		}
		ea, serr := ext.Schema.ValidateExtension(v)
		if serr != nil {
			return nil, false
		}
		attrs[ext.Schema.ID] = ea
	}
	return attrs, true
}

// serveCreate answers POST /Users, whose normalised body is doc, and
// reports whether it did (fastcreate.go's comment says when it does not).
func (h *handler) serveCreate(w http.ResponseWriter, r *http.Request, doc map[string]any) bool {
	if _, ok := h.opts.Store.(store.LinkedCreator); !ok || r.URL.Path != h.opts.BasePath+"/Users" || !projectionFrom(r).isDefault() {
		return false
	}
	set := h.schemasOf(r)
	attrs, ok := validateResource(set, doc)
	if !ok {
		return false
	}
	usr, link, err := h.users.create(r, attrs)
	if err != nil {
		// As the library answers an error of its handler's Create.
		writeError(w, scimerrors.CheckScimError(err, http.MethodPost))
		return true
	}
	raw, err := json.Marshal(usr.Doc)
	if err != nil {
		h.log.Error("render user", zap.String("id", usr.ID), zap.Error(err))
		writeError(w, errInternal("render user"))
		return true
	}
	v := store.UserView{
		ID: usr.ID, UserName: usr.UserName, Active: usr.Active, Source: usr.Source, Doc: raw,
		Version: usr.Version, Created: usr.Created, Modified: usr.Modified,
		Sync: *link, HasSync: true,
	}
	base := h.baseURL(r)
	loc := newLocator("/Users", base)
	buf, err := h.users.appendView(make([]byte, 0, 512+2*len(raw)), v, set, base, loc)
	if err != nil {
		h.log.Error("render user", zap.String("id", usr.ID), zap.Error(err))
		writeError(w, errInternal("render user"))
		return true
	}
	w.Header().Set("Content-Type", "application/scim+json")
	w.Header().Set("Location", loc.of(usr.ID))
	w.Header().Set("Etag", etag(usr.Version))
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(buf)
	return true
}

// servePut answers PUT /Users/{id}, whose normalised body is doc, and
// reports whether it did (fastcreate.go's comment says when it does not).
func (h *handler) servePut(w http.ResponseWriter, r *http.Request, doc map[string]any) bool {
	id, ok := h.fastUserID(r)
	if !ok {
		return false
	}
	set := h.schemasOf(r)
	attrs, ok := validateResource(set, doc)
	if !ok {
		return false
	}
	res, err := h.users.Replace(r, id, attrs)
	h.answerUpdate(w, r, set, id, res, err, http.MethodPut)
	return true
}
