package scim

import (
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"

	elscim "github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/schema"
	"github.com/scim2/filter-parser/v2"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// unescapePaths decodes the escapes of the value filters' strings in the
// paths of ops, which the library parsed for this request (see
// unescapeFilter); once per request, before the operations are applied
// (perhaps more than once).
func unescapePaths(ops []elscim.PatchOperation) {
	for _, op := range ops {
		if op.Path != nil {
			unescapeFilter(op.Path.ValueExpression)
		}
	}
}

// applyPatch applies parsed PATCH operations (RFC 7644 §3.5.2) to doc in
// order. The library has validated paths and values against the schema;
// what is left to decide here is semantics: add merges and appends
// (idempotently; a filtered path that matches nothing adds an element built
// from the filter), replace overwrites (a filtered path that matches nothing
// is 400 noTarget, RFC 7644 §3.5.2.3, except Entra's upsert: typeUpsert),
// remove deletes (a missing target is a no-op).
func (rs resourceSchema) applyPatch(doc map[string]any, ops []elscim.PatchOperation) error {
	// A group has no multi-valued attribute with a primary value, and its
	// members may be thousands: it is spared the bookkeeping.
	primaries := rs.core.ID != URNGroup
	for _, op := range ops {
		name := strings.ToLower(op.Op)
		var before primarySet
		if primaries {
			before = primaryElements(doc)
		}
		if err := rs.applyOp(doc, name, op); err != nil {
			return err
		}
		if primaries {
			before.demote(doc)
		}
	}
	return nil
}

// applyOp applies one operation, lower-cased op naming it.
func (rs resourceSchema) applyOp(doc map[string]any, name string, op elscim.PatchOperation) error {
	if op.Path != nil {
		return rs.applyPath(doc, *op.Path, name, op.Value)
	}
	vm, ok := op.Value.(map[string]any)
	if !ok {
		return errInvalidValue("A PATCH operation without a path needs an object value.")
	}
	keys := make([]string, 0, len(vm))
	for k := range vm {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := vm[k]
		if ext, ok := rs.extension(k); ok {
			inner, isMap := v.(map[string]any)
			if !isMap {
				continue
			}
			innerKeys := make([]string, 0, len(inner))
			for ik := range inner {
				innerKeys = append(innerKeys, ik)
			}
			sort.Strings(innerKeys)
			for _, ik := range innerKeys {
				uri := ext.ID
				p := filter.Path{AttributePath: filter.AttributePath{URIPrefix: &uri, AttributeName: ik}}
				if err := rs.applyPath(doc, p, name, inner[ik]); err != nil {
					return err
				}
			}
			continue
		}
		p, err := rs.paths.parse(k)
		if err != nil {
			continue // the library only passes keys it could parse
		}
		if err := rs.applyPath(doc, p, name, v); err != nil {
			return err
		}
	}
	return nil
}

// primarySet holds the elements of a document's multi-valued attributes
// whose "primary" is true, by identity; it keeps them referenced so their
// addresses stay theirs.
type primarySet struct {
	ptr  map[uintptr]bool
	keep []map[string]any
}

// eachElementList calls fn with every multi-valued attribute of doc and of
// its extension objects.
func eachElementList(doc map[string]any, fn func([]any)) {
	for _, v := range doc {
		switch x := v.(type) {
		case []any:
			fn(x)
		case map[string]any:
			for _, iv := range x {
				if l, ok := iv.([]any); ok {
					fn(l)
				}
			}
		}
	}
}

// primaryKey returns the key of el's "primary" when it is true.
func primaryKey(el any) (string, bool) {
	m, ok := el.(map[string]any)
	if !ok {
		return "", false
	}
	k, v, ok := getKey(m, "primary")
	b, isBool := v.(bool)
	return k, ok && isBool && b
}

func primaryElements(doc map[string]any) primarySet {
	s := primarySet{ptr: map[uintptr]bool{}}
	eachElementList(doc, func(list []any) {
		for _, el := range list {
			if _, ok := primaryKey(el); ok {
				m := el.(map[string]any)
				s.ptr[reflect.ValueOf(m).Pointer()] = true
				s.keep = append(s.keep, m)
			}
		}
	})
	return s
}

// demote enforces RFC 7644 §3.5.2: an operation that makes a value of a
// multi-valued attribute primary makes every value that was primary before
// it non-primary, so the attribute has one primary value (the work email
// the bridge sends Gainsight is the primary one).
func (s primarySet) demote(doc map[string]any) {
	eachElementList(doc, func(list []any) {
		fresh := false
		for _, el := range list {
			if _, ok := primaryKey(el); ok && !s.ptr[reflect.ValueOf(el).Pointer()] {
				fresh = true
			}
		}
		if !fresh {
			return
		}
		for _, el := range list {
			if k, ok := primaryKey(el); ok && s.ptr[reflect.ValueOf(el).Pointer()] {
				el.(map[string]any)[k] = false
			}
		}
	})
}

// applyPath applies one operation to the attribute path p.
func (rs resourceSchema) applyPath(doc map[string]any, p filter.Path, op string, value any) error {
	container := doc
	attrs := rs.attrs
	if uri := p.AttributePath.URI(); uri != "" && !strings.EqualFold(uri, rs.core.ID) {
		ext, ok := rs.extension(uri)
		if !ok {
			return scimError(400, "invalidPath", "Unknown schema "+uri+".")
		}
		k, v, found := getKey(doc, ext.ID)
		c, isMap := v.(map[string]any)
		if !found || !isMap {
			if op == "remove" {
				return nil
			}
			c = map[string]any{}
			if found {
				delete(doc, k)
			}
			k = ext.ID
			doc[k] = c
		}
		container = c
		attrs = ext.Attributes
		defer func() {
			if len(c) == 0 {
				delete(doc, k)
			}
		}()
	}
	attr, known := attrs.ContainsAttribute(p.AttributePath.AttributeName)
	name := p.AttributePath.AttributeName
	if known {
		name = attr.Name()
	}
	key, cur, exists := getKey(container, name)
	if !exists {
		key = name
	}

	if sub := p.AttributePath.SubAttributeName(); sub != "" {
		subName := canonicalSub(attr, known, sub)
		switch x := cur.(type) {
		case []any:
			for _, el := range x {
				if m, ok := el.(map[string]any); ok {
					setSub(m, subName, op, value)
				}
			}
		case map[string]any:
			setSub(x, subName, op, value)
			if len(x) == 0 {
				delete(container, key)
			}
		default:
			if op != "remove" {
				container[key] = map[string]any{subName: value}
			}
		}
		return nil
	}

	if p.ValueExpression != nil {
		list, _ := cur.([]any)
		matched := matchElements(list, p.ValueExpression, name)
		fsub := p.SubAttributeName()
		if fsub != "" {
			fsub = canonicalSub(attr, known, fsub)
		}
		switch op {
		case "remove":
			if fsub == "" {
				list = removeIndexes(list, matched)
			} else {
				for _, i := range matched {
					delete(list[i].(map[string]any), fsub)
				}
			}
		default:
			if len(matched) == 0 {
				if op == "replace" && !rs.typeUpsert(p) {
					return scimError(http.StatusBadRequest, scimerrors.ScimTypeNoTarget,
						fmt.Sprintf("No value of %s matches the filter of path %q.", name, p.String()))
				}
				el := elementFromFilter(p.ValueExpression)
				if fsub != "" {
					el[fsub] = value
				} else if vm, ok := value.(map[string]any); ok {
					for k, v := range vm {
						el[k] = v
					}
				} else {
					el["value"] = value
				}
				list = append(list, el)
			}
			for _, i := range matched {
				el := list[i].(map[string]any)
				switch vm, ok := value.(map[string]any); {
				case fsub != "":
					el[fsub] = value
				case ok && op == "add":
					for k, v := range vm {
						el[k] = v
					}
				case ok:
					list[i] = vm
				default:
					el["value"] = value
				}
			}
		}
		if len(list) == 0 {
			delete(container, key)
		} else {
			container[key] = list
		}
		return nil
	}

	multi := (known && attr.MultiValued())
	if _, isList := cur.([]any); isList {
		multi = true
	}
	switch op {
	case "remove":
		if list, isList := cur.([]any); isList && value != nil {
			rm, isRmList := value.([]any)
			if !isRmList {
				rm = []any{value}
			}
			drop := newElementSet(rm)
			var keep []any
			for _, el := range list {
				if !drop.contains(el) {
					keep = append(keep, el)
				}
			}
			if len(keep) == 0 {
				delete(container, key)
			} else {
				container[key] = keep
			}
			return nil
		}
		delete(container, key)
	case "add":
		if multi {
			add, isList := value.([]any)
			if !isList {
				add = []any{value}
			}
			list, _ := cur.([]any)
			have := newElementSet(list)
			for _, el := range add {
				if !have.contains(el) {
					list = append(list, el)
					have.add(el)
				}
			}
			container[key] = list
			return nil
		}
		if vm, ok := value.(map[string]any); ok {
			if cm, ok := cur.(map[string]any); ok {
				for k, v := range vm {
					cm[k] = v
				}
				return nil
			}
		}
		container[key] = value
	default: // replace
		if vm, ok := value.(map[string]any); ok && !multi {
			if cm, ok := cur.(map[string]any); ok {
				for k, v := range vm {
					cm[k] = v
				}
				return nil
			}
		}
		if l, isList := value.([]any); isList && len(l) == 0 {
			delete(container, key)
			return nil
		}
		container[key] = value
	}
	return nil
}

// matchElements returns the indexes of the elements of list, the values of
// attribute parent, that match the value filter e. The shape identity
// providers send to remove one group member or value, [value eq "…"], is
// compared without the general evaluator: Okta and Entra send one such
// operation per removed member, so a PATCH of many against a large group
// tests each member many times.
func matchElements(list []any, e filter.Expression, parent string) []int {
	var matched []int
	cmp, ok := e.(*filter.AttributeExpression)
	ref, isStr := "", false
	if ok && cmp.Operator == filter.EQ && cmp.AttributePath.SubAttribute == nil && cmp.AttributePath.URI() == "" &&
		strings.EqualFold(cmp.AttributePath.AttributeName, "value") {
		ref, isStr = cmp.CompareValue.(string)
	}
	if !isStr {
		for i, el := range list {
			if m, ok := el.(map[string]any); ok && evalIn(e, m, parent) {
				matched = append(matched, i)
			}
		}
		return matched
	}
	exact := caseExact(parent, cmp.AttributePath)
	folded := store.Fold(ref)
	for i, el := range list {
		m, ok := el.(map[string]any)
		if !ok {
			continue
		}
		_, v, _ := getKey(m, "value")
		s, isStr := v.(string)
		switch {
		case !isStr:
			if evalIn(e, m, parent) {
				matched = append(matched, i)
			}
		case exact && s == ref, !exact && strings.EqualFold(s, ref) && store.Fold(s) == folded:
			matched = append(matched, i)
		}
	}
	return matched
}

// upsertSubs are the core User attributes, and their sub-attributes, that a
// replace on "attr[type eq "…"].sub" may create when no value of that type
// exists.
var upsertSubs = map[string][]string{
	"emails":       {"value"},
	"phoneNumbers": {"value"},
	"addresses":    {"formatted", "streetAddress", "locality", "region", "postalCode", "country"},
}

// typeUpsert reports whether a replace on path p, which matched no value,
// adds one instead of failing with noTarget. RFC 7644 §3.5.2.3 says it
// fails; Microsoft Entra ID maps a user's mail, phone numbers and address
// to "emails[type eq "work"].value", "phoneNumbers[type eq "mobile"].value",
// "addresses[type eq "work"].locality" and so on, and sends them as
// replace operations whether or not the user has a value of that type yet,
// expecting the value to be added. Only that shape is upserted: a core User
// attribute of upsertSubs, a filter that is exactly one "type eq" string
// comparison, and one of the attribute's sub-attributes that the IdP maps.
func (rs resourceSchema) typeUpsert(p filter.Path) bool {
	if rs.core.ID != URNUser || !isCoreURN(p.AttributePath.URI()) {
		return false
	}
	subs, ok := upsertSubs[canonicalName(upsertSubs, p.AttributePath.AttributeName)]
	if !ok || p.SubAttribute == nil {
		return false
	}
	cmp, ok := p.ValueExpression.(*filter.AttributeExpression)
	if !ok || cmp.Operator != filter.EQ || !strings.EqualFold(cmp.AttributePath.AttributeName, "type") ||
		cmp.AttributePath.SubAttribute != nil || cmp.AttributePath.URI() != "" {
		return false
	}
	if _, isStr := cmp.CompareValue.(string); !isStr {
		return false
	}
	for _, s := range subs {
		if strings.EqualFold(s, *p.SubAttribute) {
			return true
		}
	}
	return false
}

// canonicalName returns the key of m equal to name ignoring case, or name.
func canonicalName[V any](m map[string]V, name string) string {
	for k := range m {
		if strings.EqualFold(k, name) {
			return k
		}
	}
	return name
}

func canonicalSub(attr schema.CoreAttribute, known bool, sub string) string {
	if known {
		if sa, ok := attr.SubAttributes().ContainsAttribute(sub); ok {
			return sa.Name()
		}
	}
	return sub
}

func setSub(m map[string]any, sub, op string, value any) {
	k, _, ok := getKey(m, sub)
	if !ok {
		k = sub
	}
	if op == "remove" {
		delete(m, k)
		return
	}
	m[k] = value
}

func removeIndexes(list []any, idx []int) []any {
	if len(idx) == 0 {
		return list
	}
	drop := make(map[int]bool, len(idx))
	for _, i := range idx {
		drop[i] = true
	}
	out := list[:0:0]
	for i, el := range list {
		if !drop[i] {
			out = append(out, el)
		}
	}
	return out
}

// elementSet answers whether a multi-valued attribute holds an element:
// complex elements with a "value" are compared by it (so re-adding a member
// is a no-op), others by deep equality. Elements with a value are indexed,
// so adding or removing thousands of group members stays linear.
type elementSet struct {
	values map[string]bool
	others []any
}

func newElementSet(list []any) *elementSet {
	s := &elementSet{values: make(map[string]bool, len(list))}
	for _, el := range list {
		s.add(el)
	}
	return s
}

func (s *elementSet) add(el any) {
	if v, ok := elementValue(el); ok {
		s.values[v] = true
		return
	}
	s.others = append(s.others, el)
}

func (s *elementSet) contains(el any) bool {
	if v, ok := elementValue(el); ok {
		return s.values[v]
	}
	for _, x := range s.others {
		if reflect.DeepEqual(x, el) {
			return true
		}
	}
	return false
}

func elementValue(el any) (string, bool) {
	m, ok := el.(map[string]any)
	if !ok {
		return "", false
	}
	_, v, ok := getKey(m, "value")
	if !ok {
		return "", false
	}
	s, ok := v.(string)
	return s, ok
}

// elementFromFilter builds the element a value filter describes, from its
// "eq" comparisons, so a replace that matches nothing can add it.
func elementFromFilter(e filter.Expression) map[string]any {
	el := map[string]any{}
	var walk func(filter.Expression)
	walk = func(e filter.Expression) {
		switch x := e.(type) {
		case *filter.AttributeExpression:
			if x.Operator == filter.EQ && x.AttributePath.SubAttribute == nil && x.CompareValue != nil {
				el[x.AttributePath.AttributeName] = x.CompareValue
			}
		case *filter.LogicalExpression:
			if x.Operator == filter.AND {
				walk(x.Left)
				walk(x.Right)
			}
		}
	}
	walk(e)
	return el
}

// copyValue deep-copies JSON-shaped values.
func copyValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = copyValue(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = copyValue(e)
		}
		return l
	}
	return v
}

func copyDoc(doc map[string]any) map[string]any {
	if doc == nil {
		return map[string]any{}
	}
	return copyValue(doc).(map[string]any)
}
