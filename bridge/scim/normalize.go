package scim

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/schema"
	"github.com/scim2/filter-parser/v2"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

// decodeJSON decodes with json.Number so integers survive.
func decodeJSON(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return err
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return errTrailingData
	}
	return nil
}

// errTrailingData: the data holds more than one JSON value.
var errTrailingData = errors.New("data after the JSON value")

// getKey returns the value under key k compared case-insensitively.
func getKey(m map[string]any, k string) (string, any, bool) {
	if v, ok := m[k]; ok {
		return k, v, true
	}
	for mk, v := range m {
		if strings.EqualFold(mk, k) {
			return mk, v, true
		}
	}
	return "", nil, false
}

// normalizeBody rewrites a POST, PUT or PATCH body into the shape the
// library validates, or returns a SCIM error the library would only report
// without naming the attribute. The limits are checked while the body is
// walked anyway, before the library parses it a second time: a PATCH of
// more operations than allowed is refused (400 tooMany) before any is
// looked at, and a user attribute given more values than allowed (400
// invalidValue). Bodies that are not JSON objects are passed through for
// the library to reject. doc is the body as normalised, decoded as the
// library decodes it (json.Number for numbers), or nil when the body is
// passed through.
func (rs resourceSchema) normalizeBody(method string, body []byte, lim config.SCIMLimits) (_ []byte, doc map[string]any, _ *scimerrors.ScimError) {
	if e := rs.precheck(method, body, lim); e != nil {
		return nil, nil, e
	}
	var m map[string]any
	if err := decodeJSON(body, &m); err != nil || m == nil {
		if errors.Is(err, errTrailingData) {
			// The library would read the first value and ignore the rest.
			e := scimError(http.StatusBadRequest, scimerrors.ScimTypeInvalidSyntax, "The request body holds data after its JSON object.")
			return nil, nil, &e
		}
		return body, nil, nil
	}
	changed := true
	if method == http.MethodPatch {
		if e := rs.normalizePatch(m); e != nil {
			return nil, nil, e
		}
	} else {
		var e *scimerrors.ScimError
		if changed, e = rs.normalizeResource(m); e != nil {
			return nil, nil, e
		}
	}
	if !changed {
		// Already in shape, as identity providers send it: the library
		// reads the body as sent.
		return body, m, nil
	}
	out, err := json.Marshal(m)
	if err != nil {
		return body, nil, nil
	}
	// Decoding out gives m again: its numbers are json.Number, which
	// encode as the digits they were read from.
	return out, m, nil
}

// normalizeResource normalises a POST or PUT body in place, and reports
// whether that changed it.
func (rs resourceSchema) normalizeResource(m map[string]any) (changed bool, _ *scimerrors.ScimError) {
	changed = ensureSchema(m, rs.core.ID)
	for k, v := range m {
		if ext, ok := rs.extension(k); ok {
			if inner, ok := v.(map[string]any); ok {
				for ik, iv := range inner {
					if a, ok := ext.Attributes.ContainsAttribute(ik); ok {
						inner[ik] = normValueOf(a, iv, true, &changed)
					}
				}
			}
			continue
		}
		a, ok := rs.attrs.ContainsAttribute(k)
		if !ok {
			continue
		}
		if v == nil {
			delete(m, k)
			changed = true
			continue
		}
		m[k] = normValueOf(a, v, true, &changed)
	}
	required := "userName"
	if rs.core.ID == URNGroup {
		required = "displayName"
	}
	_, v, ok := getKey(m, required)
	if !ok || v == nil {
		e := errInvalidValue("%s is required.", required)
		return false, &e
	}
	s, ok := v.(string)
	if !ok {
		e := errInvalidValue("%s must be a string.", required)
		return false, &e
	}
	if strings.TrimSpace(s) == "" {
		e := errInvalidValue("%s must not be empty.", required)
		return false, &e
	}
	return changed, nil
}

// normalizeAttrs normalises the known attributes of m in place; with drop,
// unknown keys are removed.
func normalizeAttrs(attrs schema.Attributes, m map[string]any, drop bool) {
	for k, v := range m {
		a, ok := attrs.ContainsAttribute(k)
		if !ok {
			if drop {
				delete(m, k)
			}
			continue
		}
		m[k] = normValue(a, v, true)
	}
}

// ensureSchema makes m's schemas list id, and reports whether it had to.
func ensureSchema(m map[string]any, id string) bool {
	k, v, ok := getKey(m, "schemas")
	list, isList := v.([]any)
	if !ok || !isList {
		if ok {
			delete(m, k)
		}
		m["schemas"] = []any{id}
		return true
	}
	for _, s := range list {
		if s == id {
			return false
		}
	}
	m[k] = append(list, id)
	return true
}

// normValue coerces v towards attribute a: string booleans become
// booleans, a bare string for a complex attribute with a "value"
// sub-attribute becomes {"value": s}, and (with multi) a single value of a
// multi-valued attribute becomes a one-element list.
func normValue(a schema.CoreAttribute, v any, multi bool) any {
	var changed bool
	return normValueOf(a, v, multi, &changed)
}

// normValueOf is normValue, setting *changed when it changes v.
func normValueOf(a schema.CoreAttribute, v any, multi bool, changed *bool) any {
	if multi && a.MultiValued() {
		list, ok := v.([]any)
		if !ok {
			if v == nil {
				return v
			}
			list = []any{v}
			*changed = true
		}
		for i := range list {
			list[i] = normValueOf(a, list[i], false, changed)
		}
		return list
	}
	switch a.AttributeType() {
	case "boolean":
		if s, ok := v.(string); ok {
			if b, err := strconv.ParseBool(strings.ToLower(strings.TrimSpace(s))); err == nil {
				*changed = true
				return b
			}
		}
	case "complex":
		switch x := v.(type) {
		case string:
			if _, ok := a.SubAttributes().ContainsAttribute("value"); ok {
				*changed = true
				return map[string]any{"value": x}
			}
		case json.Number:
			if _, ok := a.SubAttributes().ContainsAttribute("value"); ok {
				*changed = true
				return map[string]any{"value": x.String()}
			}
		case map[string]any:
			for k, sv := range x {
				if sa, ok := a.SubAttributes().ContainsAttribute(k); ok {
					x[k] = normValueOf(sa, sv, true, changed)
				}
			}
		}
	}
	return v
}

// lookupPath resolves the attribute a PATCH path targets. element reports
// that the path selects elements of a multi-valued attribute (a value
// filter without a sub-attribute), so the value is one element.
func (rs resourceSchema) lookupPath(p filter.Path) (attr schema.CoreAttribute, element bool, ok bool) {
	attrs := rs.attrs
	if uri := p.AttributePath.URI(); uri != "" && !strings.EqualFold(uri, rs.core.ID) {
		ext, found := rs.extension(uri)
		if !found {
			return schema.CoreAttribute{}, false, false
		}
		attrs = ext.Attributes
	}
	a, found := attrs.ContainsAttribute(p.AttributePath.AttributeName)
	if !found {
		return schema.CoreAttribute{}, false, false
	}
	if sub := p.AttributePath.SubAttributeName(); sub != "" {
		if a, found = a.SubAttributes().ContainsAttribute(sub); !found {
			return schema.CoreAttribute{}, false, false
		}
	}
	if p.ValueExpression != nil {
		if sub := p.SubAttributeName(); sub != "" {
			if a, found = a.SubAttributes().ContainsAttribute(sub); !found {
				return schema.CoreAttribute{}, false, false
			}
			return a, false, true
		}
		return a, true, true
	}
	return a, false, true
}

func (rs resourceSchema) normalizePatch(m map[string]any) *scimerrors.ScimError {
	if k, _, ok := getKey(m, "schemas"); ok {
		delete(m, k)
	}
	m["schemas"] = []any{urnPatchOp}
	opsKey, ops, _ := getKey(m, "Operations")
	list, _ := ops.([]any)
	list, e := rs.expandExtensionPaths(list)
	if e != nil {
		return e
	}
	if list != nil {
		m[opsKey] = list
	}
	for _, raw := range list {
		op, ok := raw.(map[string]any)
		if !ok {
			continue
		}
		_, pv, _ := getKey(op, "path")
		vk, value, hasValue := getKey(op, "value")
		if !hasValue || value == nil {
			continue
		}
		if ps, ok := pv.(string); ok && strings.TrimSpace(ps) != "" {
			p, err := rs.paths.parse(ps)
			if err != nil {
				continue
			}
			a, element, ok := rs.lookupPath(p)
			if !ok {
				continue
			}
			if element {
				if l, isList := value.([]any); isList {
					for i := range l {
						l[i] = normValue(a, l[i], false)
					}
				} else {
					op[vk] = normValue(a, value, false)
				}
				continue
			}
			op[vk] = normValue(a, value, true)
			continue
		}
		vm, ok := value.(map[string]any)
		if !ok {
			continue
		}
		rs.normalizePathless(vm)
	}
	return nil
}

// expandExtensionPaths rewrites operations whose path is a bare extension
// URN ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"), which
// the library refuses as an invalid path, into what they mean, as other
// SCIM servers read them: an add or replace of "the attributes of this
// extension" becomes the path-less operation {"<URN>": value}, and a remove
// of the whole extension becomes a remove of each of its attributes.
func (rs resourceSchema) expandExtensionPaths(ops []any) ([]any, *scimerrors.ScimError) {
	var out []any
	for i, raw := range ops {
		op, isMap := raw.(map[string]any)
		pk, pv, _ := getKey(op, "path")
		ps, isStr := pv.(string)
		ext, found := rs.extension(strings.TrimSpace(ps))
		if !isMap || !isStr || !found {
			if out != nil {
				out = append(out, raw)
			}
			continue
		}
		if out == nil {
			out = append([]any{}, ops[:i]...)
		}
		_, name, _ := getKey(op, "op")
		switch n, _ := name.(string); strings.ToLower(n) {
		case "remove":
			for _, a := range ext.Attributes {
				out = append(out, map[string]any{"op": "remove", "path": ext.ID + ":" + a.Name()})
			}
		case "add", "replace":
			vk, value, _ := getKey(op, "value")
			if _, isObject := value.(map[string]any); !isObject {
				e := errInvalidValue("The value of an operation whose path is the schema %s must be an object of its attributes.", ext.ID)
				return nil, &e
			}
			delete(op, pk)
			op[vk] = map[string]any{ext.ID: value}
			out = append(out, op)
		default:
			out = append(out, op) // the library refuses the op
		}
	}
	if out == nil {
		return ops, nil
	}
	return out, nil
}

// normalizePathless normalises a path-less PATCH value whose keys are
// attribute paths or extension URNs, dropping keys naming no attribute.
func (rs resourceSchema) normalizePathless(vm map[string]any) {
	for k, v := range vm {
		if ext, ok := rs.extension(k); ok {
			inner, isMap := v.(map[string]any)
			if !isMap {
				delete(vm, k)
				continue
			}
			normalizeAttrs(ext.Attributes, inner, true)
			continue
		}
		p, err := rs.paths.parse(k)
		if err != nil {
			delete(vm, k)
			continue
		}
		a, element, ok := rs.lookupPath(p)
		if !ok || (v == nil) {
			delete(vm, k)
			continue
		}
		vm[k] = normValue(a, v, !element)
	}
}
