package scim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	scimerrors "github.com/elimity-com/scim/errors"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

// withDefaults returns l with every unset (zero or negative) limit set to
// its default.
func withDefaults(l config.SCIMLimits) config.SCIMLimits {
	d := config.Default().SCIM.Limits
	for _, f := range []struct{ v, def *int }{
		{&l.MaxValuesPerAttribute, &d.MaxValuesPerAttribute},
		{&l.MaxDocumentBytes, &d.MaxDocumentBytes},
		{&l.MaxPatchOperations, &d.MaxPatchOperations},
		{&l.MaxFilterLength, &d.MaxFilterLength},
		{&l.MaxFilterDepth, &d.MaxFilterDepth},
		{&l.MaxFilterCandidates, &d.MaxFilterCandidates},
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	return l
}

func errTooMany(format string, args ...any) scimerrors.ScimError {
	return scimError(http.StatusBadRequest, scimerrors.ScimTypeTooMany, fmt.Sprintf(format, args...))
}

func errFilterLimit(format string, args ...any) scimerrors.ScimError {
	return scimError(http.StatusBadRequest, scimerrors.ScimTypeInvalidFilter, fmt.Sprintf(format, args...))
}

// checkDocument refuses a document of kind ("user" or "group") that would
// be stored with an attribute holding more than MaxValuesPerAttribute
// values (400 invalidValue, naming it) or that is larger than
// MaxDocumentBytes as JSON (413). It walks the document once, without
// encoding it.
func (h *handler) checkDocument(kind string, doc map[string]any) error {
	l := h.opts.Limits
	size, attr, n := measure(doc, "", l.MaxValuesPerAttribute)
	if attr != "" {
		return *tooManyValues(attr, n, l.MaxValuesPerAttribute)
	}
	if size > l.MaxDocumentBytes {
		return scimError(http.StatusRequestEntityTooLarge, "",
			fmt.Sprintf("The %s is %d bytes as JSON; at most %d are accepted (scim.limits.maxDocumentBytes).",
				kind, size, l.MaxDocumentBytes))
	}
	return nil
}

// measure returns the length of v encoded by encoding/json, and the path
// and length of the first list (in key order) holding more than maxValues
// elements ("" when none does). path is v's own path.
func measure(v any, path string, maxValues int) (size int, over string, n int) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		size = 2 + max(len(x)-1, 0) // braces and commas
		for _, k := range keys {
			p := k
			switch {
			case path == "":
			case !strings.Contains(path, ".") && strings.HasPrefix(strings.ToLower(path), "urn:"):
				p = path + ":" + k // an extension's attribute
			default:
				p = path + "." + k
			}
			s, o, c := measure(x[k], p, maxValues)
			size += stringSize(k) + 1 + s
			if over == "" && o != "" {
				over, n = o, c
			}
		}
		return size, over, n
	case []any:
		if len(x) > maxValues {
			over, n = path, len(x)
		}
		size = 2 + max(len(x)-1, 0)
		for _, el := range x {
			s, o, c := measure(el, path, maxValues)
			size += s
			if over == "" && o != "" {
				over, n = o, c
			}
		}
		return size, over, n
	case string:
		return stringSize(x), "", 0
	case json.Number:
		if x == "" {
			return 1, "", 0
		}
		return len(x), "", 0
	case bool:
		if x {
			return 4, "", 0
		}
		return 5, "", 0
	case nil:
		return 4, "", 0
	case int:
		return len(strconv.Itoa(x)), "", 0
	case int64:
		return len(strconv.FormatInt(x, 10)), "", 0
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return 0, "", 0 // not encodable; the store refuses it
		}
	}
	raw, _ := json.Marshal(v)
	return len(raw), "", 0
}

// stringSize is the length of s as encoding/json writes it: quoted, with
// '"' and '\' and \b \f \n \r \t escaped in two bytes, other control
// characters, '<', '>', '&', U+2028, U+2029 and each invalid byte in six.
func stringSize(s string) int {
	n := 2
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			switch {
			case b == '"' || b == '\\' || b == '\b' || b == '\f' || b == '\n' || b == '\r' || b == '\t':
				n += 2
			case b < 0x20 || b == '<' || b == '>' || b == '&':
				n += 6
			default:
				n++
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1, r == '\u2028', r == '\u2029':
			n += 6
		default:
			n += size
		}
		i += size
	}
	return n
}

// filterShape returns the deepest nesting of parentheses and value-filter
// brackets in a filter, outside its string literals.
func filterShape(raw string) (depth int) {
	cur, inString, escaped := 0, false, false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case inString && escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case inString:
			inString = c != '"'
		case c == '"':
			inString = true
		case c == '(' || c == '[':
			cur++
			depth = max(depth, cur)
		case c == ')' || c == ']':
			cur = max(cur-1, 0)
		}
	}
	return depth
}

// checkFilter refuses a filter longer than MaxFilterLength or nested more
// deeply than MaxFilterDepth (400 invalidFilter), before it is parsed: the
// parser's work grows faster than the filter's length and nesting.
func (h *handler) checkFilter(raw string) *scimerrors.ScimError {
	l := h.opts.Limits
	if len(raw) > l.MaxFilterLength {
		e := errFilterLimit("The filter is %d bytes long; at most %d are accepted (scim.limits.maxFilterLength).",
			len(raw), l.MaxFilterLength)
		return &e
	}
	if d := filterShape(raw); d > l.MaxFilterDepth {
		e := errFilterLimit("The filter nests parentheses or value filters %d deep; at most %d levels are accepted (scim.limits.maxFilterDepth).",
			d, l.MaxFilterDepth)
		return &e
	}
	return nil
}

// precheck refuses, before a POST, PUT or PATCH body is decoded into maps
// (megabytes for a body of thousands of values), a PATCH of more than
// MaxPatchOperations operations (400 tooMany) and a user attribute given
// more than MaxValuesPerAttribute values (400 invalidValue). Values are
// counted as sent, repeated ones included; a group's members are not
// counted (they are references to users, as many as the group has). It
// decodes the body only into raw JSON pieces; a body it cannot read that
// way is left for the full decoding to refuse.
//
// RFC 7644 names no error for too many PATCH operations: 400 tooMany
// ("more than the server is willing to process") says what happened and,
// unlike invalidSyntax, does not suggest that the request is malformed.
func (rs resourceSchema) precheck(method string, body []byte, lim config.SCIMLimits) *scimerrors.ScimError {
	if method != http.MethodPatch {
		// A resource is walked where it lies, without copying its pieces:
		// what json.Unmarshal into raw messages would find, at a fraction
		// of the cost.
		if !json.Valid(body) {
			return nil
		}
		ms, err := topLevel(body, nil)
		if err != nil {
			return nil
		}
		return rs.countMembers("", ms, lim.MaxValuesPerAttribute)
	}
	var req struct {
		Operations []struct {
			Path  json.RawMessage
			Value json.RawMessage
		}
	}
	if json.Unmarshal(body, &req) != nil {
		return nil
	}
	if n := len(req.Operations); n > lim.MaxPatchOperations {
		e := errTooMany("The PATCH request has %d operations; at most %d are accepted (scim.limits.maxPatchOperations). Send the changes in several requests.",
			n, lim.MaxPatchOperations)
		return &e
	}
	for _, op := range req.Operations {
		var path string
		_ = json.Unmarshal(op.Path, &path)
		if e := rs.countRawValue(path, op.Value, lim.MaxValuesPerAttribute); e != nil {
			return e
		}
	}
	return nil
}

// countMembers is countRaw over the members of an object as topLevel
// splits it (of a valid JSON text): a key given twice counts once, with
// its last value, as when decoded.
func (rs resourceSchema) countMembers(parent string, ms []member, max int) *scimerrors.ScimError {
	last := make(map[string]int, len(ms))
	keys := make([]string, 0, len(ms))
	for i, m := range ms {
		if _, seen := last[m.key]; !seen {
			keys = append(keys, m.key)
		}
		last[m.key] = i
	}
	sort.Strings(keys)
	for _, k := range keys {
		name := k
		if parent != "" {
			name = parent + ":" + k
		}
		if e := rs.countMember(name, ms[last[k]].val, max); e != nil {
			return e
		}
	}
	return nil
}

// countMember is countRawValue for a value of a valid JSON text.
func (rs resourceSchema) countMember(name string, raw []byte, max int) *scimerrors.ScimError {
	if len(raw) == 0 {
		return nil
	}
	if rs.isGroupMembers(name) {
		return nil
	}
	switch raw[0] {
	case '[':
		if n := countElements(raw); n > max {
			return tooManyValues(name, n, max)
		}
	case '{':
		if _, isExt := rs.extension(name); isExt {
			ms, err := topLevel(raw, nil)
			if err != nil {
				return nil
			}
			return rs.countMembers(name, ms, max)
		}
	}
	return nil
}

// tooManyValues is the error for n values of the attribute path name
// (empty: a path-less value) where at most max are accepted.
func tooManyValues(name string, n, max int) *scimerrors.ScimError {
	if name == "" {
		name = "A value"
	}
	e := errInvalidValue("%s has %d values; at most %d are accepted per attribute (scim.limits.maxValuesPerAttribute).", name, n, max)
	return &e
}

// countElements returns the number of elements of a JSON array (of a
// valid JSON text).
func countElements(raw []byte) int {
	i := skipSpace(raw, 1)
	if i >= len(raw) || raw[i] == ']' {
		return 0
	}
	n := 0
	for i < len(raw) {
		end, err := valueEnd(raw, i)
		if err != nil {
			return n
		}
		n++
		i = skipSpace(raw, end)
		if i >= len(raw) || raw[i] != ',' {
			return n
		}
		i = skipSpace(raw, i+1)
	}
	return n
}

// countRaw counts the values of each attribute of doc, an object whose
// keys are attribute names or extension URNs (within the extension
// parent, when not "").
func (rs resourceSchema) countRaw(parent string, doc map[string]json.RawMessage, max int) *scimerrors.ScimError {
	keys := make([]string, 0, len(doc))
	for k := range doc {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		name := k
		if parent != "" {
			name = parent + ":" + k
		}
		if e := rs.countRawValue(name, doc[k], max); e != nil {
			return e
		}
	}
	return nil
}

// isGroupMembers reports whether the attribute path name is a group's
// members (or a sub-attribute or value filter of them), which the limit
// on values per attribute does not count.
func (rs resourceSchema) isGroupMembers(name string) bool {
	lower := strings.ToLower(name)
	return rs.core.ID == URNGroup && (lower == "members" || strings.HasPrefix(lower, "members[") || strings.HasPrefix(lower, "members."))
}

// countRawValue counts the values of raw, given for the attribute path
// name: a list's elements, or for an object its attributes' values.
func (rs resourceSchema) countRawValue(name string, raw json.RawMessage, max int) *scimerrors.ScimError {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return nil
	}
	if rs.isGroupMembers(name) {
		return nil
	}
	switch raw[0] {
	case '[':
		var els []json.RawMessage
		if json.Unmarshal(raw, &els) == nil && len(els) > max {
			return tooManyValues(name, len(els), max)
		}
	case '{':
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil {
			return nil
		}
		if _, isExt := rs.extension(name); isExt {
			return rs.countRaw(name, obj, max)
		}
		if name == "" { // a path-less PATCH value: attributes and extensions
			return rs.countRaw("", obj, max)
		}
	}
	return nil
}
