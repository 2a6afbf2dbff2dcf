package scim

import (
	"net/http"
	"strings"
)

// projection holds the attributes/excludedAttributes query parameters
// (RFC 7644 §3.4.2.5).
type projection struct {
	include []string
	exclude []string
}

func projectionFrom(r *http.Request) projection {
	split := func(s string) []string {
		var out []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out
	}
	q := r.URL.Query()
	return projection{include: split(q.Get("attributes")), exclude: split(q.Get("excludedAttributes"))}
}

// isDefault reports whether the projection returns every attribute.
func (p projection) isDefault() bool { return len(p.include) == 0 && len(p.exclude) == 0 }

// splitAttr splits "urn:…:User:name.givenName" into the schema URN (""
// when absent), the attribute and the sub-attribute.
func splitAttr(p string) (uri, attr, sub string) {
	if strings.HasPrefix(strings.ToLower(p), "urn:") {
		i := strings.LastIndex(p, ":")
		uri, p = p[:i], p[i+1:]
	}
	attr, sub, _ = strings.Cut(p, ".")
	return uri, attr, sub
}

func isCoreURN(uri string) bool {
	return uri == "" || strings.EqualFold(uri, URNUser) || strings.EqualFold(uri, URNGroup)
}

// wants reports whether top-level attribute name (or extension URN) is
// returned.
func (p projection) wants(name string) bool {
	if len(p.include) > 0 {
		found := false
		for _, in := range p.include {
			if strings.EqualFold(in, name) {
				return true
			}
			uri, attr, _ := splitAttr(in)
			if (isCoreURN(uri) && strings.EqualFold(attr, name)) || strings.EqualFold(uri, name) {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	for _, ex := range p.exclude {
		uri, attr, sub := splitAttr(ex)
		if strings.EqualFold(ex, name) || (sub == "" && isCoreURN(uri) && strings.EqualFold(attr, name)) {
			return false
		}
	}
	return true
}

// apply filters attrs (top-level attributes and extension objects) in
// place. id, schemas and meta are always returned by the library.
func (p projection) apply(attrs map[string]any) {
	if len(p.include) == 0 && len(p.exclude) == 0 {
		return
	}
	if len(p.include) > 0 {
		keep := map[string]any{}
		for _, in := range p.include {
			if k, v, ok := getKey(attrs, in); ok {
				keep[k] = v
				continue
			}
			uri, attr, sub := splitAttr(in)
			container := attrs
			target := keep
			if !isCoreURN(uri) {
				k, v, ok := getKey(attrs, uri)
				m, isMap := v.(map[string]any)
				if !ok || !isMap {
					continue
				}
				container = m
				t, _ := keep[k].(map[string]any)
				if t == nil {
					t = map[string]any{}
					keep[k] = t
				}
				target = t
			}
			k, v, ok := getKey(container, attr)
			if !ok {
				continue
			}
			if sub == "" {
				target[k] = v
				continue
			}
			copySub(target, k, v, sub)
		}
		for k := range attrs {
			delete(attrs, k)
		}
		for k, v := range keep {
			if m, ok := v.(map[string]any); ok && len(m) == 0 {
				continue
			}
			attrs[k] = v
		}
	}
	for _, ex := range p.exclude {
		if k, _, ok := getKey(attrs, ex); ok {
			delete(attrs, k)
			continue
		}
		uri, attr, sub := splitAttr(ex)
		container := attrs
		if !isCoreURN(uri) {
			_, v, ok := getKey(attrs, uri)
			m, isMap := v.(map[string]any)
			if !ok || !isMap {
				continue
			}
			container = m
		}
		k, v, ok := getKey(container, attr)
		if !ok {
			continue
		}
		if sub == "" {
			delete(container, k)
			continue
		}
		switch x := v.(type) {
		case map[string]any:
			if sk, _, ok := getKey(x, sub); ok {
				delete(x, sk)
			}
		case []any:
			for _, el := range x {
				if m, ok := el.(map[string]any); ok {
					if sk, _, ok := getKey(m, sub); ok {
						delete(m, sk)
					}
				}
			}
		}
	}
}

// copySub copies sub-attribute sub of value v (complex or multi-valued
// complex) into target[k], merging with what is already there.
func copySub(target map[string]any, k string, v any, sub string) {
	switch x := v.(type) {
	case map[string]any:
		sk, sv, ok := getKey(x, sub)
		if !ok {
			return
		}
		t, _ := target[k].(map[string]any)
		if t == nil {
			t = map[string]any{}
			target[k] = t
		}
		t[sk] = sv
	case []any:
		// Keep each element's requested sub-attributes, by position.
		prev, _ := target[k].([]any)
		out := make([]any, len(x))
		for i, el := range x {
			m := map[string]any{}
			if i < len(prev) {
				if pm, ok := prev[i].(map[string]any); ok {
					m = pm
				}
			}
			if em, ok := el.(map[string]any); ok {
				if sk, sv, ok := getKey(em, sub); ok {
					m[sk] = sv
				}
			}
			out[i] = m
		}
		target[k] = out
	}
}
