package scim

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	elscim "github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	libfilter "github.com/elimity-com/scim/filter"
	"github.com/elimity-com/scim/schema"
	"github.com/scim2/filter-parser/v2"
	"go.uber.org/zap"
)

// A user PATCH has its operations validated here, as the library validates
// them (ResourceType.validatePatch and its internal patch package), rather
// than by the library: the library parses every operation's path with the
// filter parser, and every attribute name of a path-less value too, on
// every request — a sixth of a PATCH's CPU, for the few paths an identity
// provider's mapping uses. Here a path is parsed and checked against the
// schema once (patchPaths) and the rest of the validation, which is cheap,
// follows the library's step by step with its exported pieces. Anything it
// would refuse, every path with a value filter (whose parse the
// operation's application changes, unescapePaths), and a request with
// attributes or excludedAttributes go to the library, so the library's
// errors stay the answers; the operations of everything else
// are the library's (TestFastPatchOpsMatchLibrary compares them, and
// FuzzFastPatchOps keeps comparing).

// patchPaths remembers the PATCH paths of one resource type that the
// library's path validator accepts and that hold no value filter: those
// an identity provider's mapping uses, few. Bounded as pathCache is.
type patchPaths struct {
	m sync.Map // string → filter.Path
	n atomic.Int32
}

// path returns raw parsed, if the library's path validator accepts it
// against s and its extensions and it has no value filter.
func (c *patchPaths) path(raw string, s schema.Schema, exts []schema.Schema) (filter.Path, bool) {
	if v, ok := c.m.Load(raw); ok {
		return v.(filter.Path), true
	}
	v, err := libfilter.NewPathValidator(raw, s, exts...)
	if err != nil || v.Validate() != nil {
		return filter.Path{}, false
	}
	p := v.Path()
	if p.ValueExpression != nil {
		return filter.Path{}, false
	}
	if len(raw) <= maxCachedPathLen && c.n.Load() < maxCachedPaths {
		if _, loaded := c.m.LoadOrStore(raw, p); !loaded {
			c.n.Add(1)
		}
	}
	return p, true
}

// patchOps returns the operations of a user PATCH body as the library
// validates them, and false when the library is to validate it.
func (set *schemaSet) patchOps(body []byte) ([]elscim.PatchOperation, bool) {
	var req struct {
		Schemas    []string
		Operations []json.RawMessage
	}
	if libDecode(body, &req) != nil {
		return nil, false
	}
	if len(req.Schemas) != 1 || req.Schemas[0] != "urn:ietf:params:scim:api:messages:2.0:PatchOp" || len(req.Operations) < 1 {
		return nil, false
	}
	ops := make([]elscim.PatchOperation, 0, len(req.Operations))
	for _, raw := range req.Operations {
		var op struct {
			Op    string
			Path  string
			Value any
		}
		if libDecode(raw, &op) != nil {
			return nil, false
		}
		v := opValidator{op: strings.ToLower(op.Op), value: op.Value, schema: set.userCreate, set: set}
		if m, ok := op.Value.(map[string]any); ok {
			// The library drops the value's id, whatever its case (the
			// empty key when it has none), and refuses two of them.
			key, found := "", false
			for k := range m {
				if strings.ToLower(k) == "id" {
					if found {
						return nil, false
					}
					key, found = k, true
				}
			}
			delete(m, key)
		}
		if op.Path != "" {
			p, ok := set.userPatchPaths.path(op.Path, set.userCreate, set.userExtensions)
			if !ok {
				return nil, false
			}
			v.path = &p
		}
		value, ok := v.validate()
		if !ok {
			return nil, false
		}
		ops = append(ops, elscim.PatchOperation{Op: v.op, Path: v.path, Value: value})
	}
	return ops, true
}

// libDecode decodes data as the library does (its unmarshal): numbers as
// json.Number, and whatever follows the first value ignored.
func libDecode(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	return d.Decode(v)
}

// opValidator is the library's patch.OperationValidator for one
// operation: ok false wherever the library's returns an error. Its
// schemas by URN are set.userSchemas.
type opValidator struct {
	op     string
	path   *filter.Path
	value  any
	schema schema.Schema
	set    *schemaSet
}

func (v opValidator) validate() (any, bool) {
	switch v.op {
	case "add", "replace":
		return v.validateUpdate()
	case "remove":
		return v.validateRemove()
	}
	return nil, false
}

func (v opValidator) validateUpdate() (any, bool) {
	if v.value == nil {
		return nil, false
	}
	if v.path == nil {
		return v.validateEmptyPath()
	}
	attr, ok := v.target()
	if !ok {
		return nil, false
	}
	return v.values(attr)
}

func (v opValidator) validateRemove() (any, bool) {
	if v.path == nil {
		return nil, false
	}
	attr, ok := v.target()
	if !ok {
		return nil, false
	}
	if v.value == nil {
		return nil, true
	}
	return v.values(attr)
}

// target is the attribute the operation's path (without a value filter)
// names.
func (v opValidator) target() (*schema.CoreAttribute, bool) {
	if v.path.ValueExpression != nil {
		return nil, false
	}
	attr, ok := v.attribute(v.path.AttributePath)
	if ok && v.path.SubAttributeName() != "" {
		attr, ok = subAttribute(attr, v.path.SubAttributeName())
	}
	return attr, ok
}

// values validates the operation's value for attr as the library does: a
// single value, or each of a list for a multi-valued attribute (a single
// value of one becoming a list: its path has no value filter).
func (v opValidator) values(attr *schema.CoreAttribute) (any, bool) {
	if !attr.MultiValued() {
		a, serr := attr.ValidateSingular(v.value)
		return a, serr == nil
	}
	if list, ok := v.value.([]any); ok {
		var out []any
		for _, e := range list {
			a, serr := attr.ValidateSingular(e)
			if serr != nil {
				return nil, false
			}
			out = append(out, a)
		}
		return out, true
	}
	a, serr := attr.ValidateSingular(v.value)
	if serr != nil {
		return nil, false
	}
	return []any{a}, true
}

// validateEmptyPath validates a path-less value: each key an attribute
// path of v's schema, or an extension's URN holding its attributes.
func (v opValidator) validateEmptyPath() (any, bool) {
	attrs, ok := v.value.(map[string]any)
	if !ok {
		return nil, false
	}
	root := map[string]any{}
	for k, val := range attrs {
		if ext, ok := v.set.userSchemas[k]; ok {
			inner, ok := val.(map[string]any)
			if !ok {
				return nil, false
			}
			ev, ok := opValidator{op: v.op, value: inner, schema: ext, set: v.set}.validateEmptyPath()
			if !ok {
				return nil, false
			}
			root[k] = ev
			continue
		}
		p, err := v.set.user.paths.parse(k)
		if err != nil {
			return nil, false
		}
		kv, ok := opValidator{op: v.op, path: &p, value: val, schema: v.schema, set: v.set}.validate()
		if !ok {
			return nil, false
		}
		root[k] = kv
	}
	return root, true
}

// attribute is the attribute of p in its schema (its URN's, or v's), with
// its sub-attribute when p names one.
func (v opValidator) attribute(p filter.AttributePath) (*schema.CoreAttribute, bool) {
	ref := v.schema
	if uri := p.URI(); uri != "" {
		var ok bool
		if ref, ok = v.set.userSchemas[uri]; !ok {
			return nil, false
		}
	}
	var attr *schema.CoreAttribute
	for _, a := range ref.Attributes {
		if strings.EqualFold(a.Name(), p.AttributeName) {
			attr = &a
			break
		}
	}
	if attr == nil {
		return nil, false
	}
	if sub := p.SubAttributeName(); sub != "" {
		return subAttribute(attr, sub)
	}
	return attr, true
}

func subAttribute(attr *schema.CoreAttribute, name string) (*schema.CoreAttribute, bool) {
	if !attr.HasSubAttributes() {
		return nil, false
	}
	for _, a := range attr.SubAttributes() {
		if strings.EqualFold(a.Name(), name) {
			return &a, true
		}
	}
	return nil, false
}

// servePatch answers PATCH /Users/{id} whose normalised body is body, and
// reports whether it did: the operations validated here (fastpatch.go),
// applied by the user handler, and the answer written as the library
// writes it (answerUpdate).
func (h *handler) servePatch(w http.ResponseWriter, r *http.Request, body []byte) bool {
	id, ok := h.fastUserID(r)
	if !ok {
		return false
	}
	set := h.schemasOf(r)
	ops, ok := set.patchOps(body)
	if !ok {
		return false
	}
	res, err := h.users.Patch(r, id, ops)
	h.answerUpdate(w, r, set, id, res, err, http.MethodPatch)
	return true
}

// fastUserID is the id of a request to /Users/{id} that a fast path may
// answer: none holding % (the library unescapes the id once more than the
// router, so that one is its) and no attributes or excludedAttributes.
func (h *handler) fastUserID(r *http.Request) (string, bool) {
	id, ok := strings.CutPrefix(r.URL.Path, h.opts.BasePath+"/Users/")
	if !ok || id == "" || strings.ContainsAny(id, "/%") || !projectionFrom(r).isDefault() {
		return "", false
	}
	return id, true
}

// answerUpdate answers a PUT or PATCH (method) of user id with what the
// user handler returned, as the library's handlers write it, and a 413 as
// keptWriter does (the library allows 413 on POST only).
func (h *handler) answerUpdate(w http.ResponseWriter, r *http.Request, set *schemaSet, id string, res elscim.Resource, err error, method string) {
	w.Header().Set("Content-Type", "application/scim+json")
	if err != nil {
		var se scimerrors.ScimError
		if errors.As(err, &se) && se.Status == http.StatusRequestEntityTooLarge {
			writeError(w, se)
			return
		}
		writeError(w, scimerrors.CheckScimError(err, method))
		return
	}
	if method == http.MethodPatch && len(res.Attributes) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	raw, err := json.Marshal(libResponse(res, set.resourceTypes[0], h.baseURL(r)))
	if err != nil {
		h.log.Error("render user", zap.String("id", id), zap.Error(err))
		writeError(w, errInternal("render user"))
		return
	}
	if res.Meta.Version != "" {
		w.Header().Set("Etag", res.Meta.Version)
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(raw)
}
