package scim

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Writing JSON without encoding/json's reflection, for the responses
// every identity provider look-up produces. What is written is what
// encoding/json writes for the same values: object keys sorted, strings
// escaped alike (HTML characters included).

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as encoding/json encodes a string.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '\\', '"':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// member is one member of a JSON object being written: its key and its
// value, already encoded.
type member struct {
	key string // decoded, for sorting
	raw []byte // the encoded key, with its quotes; nil to encode key
	val []byte
}

// appendObject appends the object of ms, its members sorted by key as
// encoding/json sorts a map's.
func appendObject(dst []byte, ms []member) []byte {
	slices.SortFunc(ms, func(a, b member) int { return strings.Compare(a.key, b.key) })
	dst = append(dst, '{')
	for i, m := range ms {
		if i > 0 {
			dst = append(dst, ',')
		}
		if m.raw != nil {
			dst = append(dst, m.raw...)
		} else {
			dst = appendJSONString(dst, m.key)
		}
		dst = append(dst, ':')
		dst = append(dst, m.val...)
	}
	return append(dst, '}')
}

var errNotObject = errors.New("scim: not a JSON object")

// topLevel splits the JSON object doc into its members, the values left
// encoded as they are. doc is trusted to be valid JSON (what the store
// wrote); anything else is reported, never read past.
func topLevel(doc []byte, ms []member) ([]member, error) {
	i := skipSpace(doc, 0)
	if i >= len(doc) || doc[i] != '{' {
		return nil, errNotObject
	}
	i = skipSpace(doc, i+1)
	if i < len(doc) && doc[i] == '}' {
		return ms, nil
	}
	for {
		if i >= len(doc) || doc[i] != '"' {
			return nil, errNotObject
		}
		end, escaped, err := stringEnd(doc, i)
		if err != nil {
			return nil, err
		}
		m := member{raw: doc[i:end]}
		if escaped {
			if err := json.Unmarshal(m.raw, &m.key); err != nil {
				return nil, err
			}
		} else {
			m.key = string(doc[i+1 : end-1])
		}
		i = skipSpace(doc, end)
		if i >= len(doc) || doc[i] != ':' {
			return nil, errNotObject
		}
		i = skipSpace(doc, i+1)
		vend, err := valueEnd(doc, i)
		if err != nil {
			return nil, err
		}
		m.val = doc[i:vend]
		ms = append(ms, m)
		i = skipSpace(doc, vend)
		if i >= len(doc) {
			return nil, errNotObject
		}
		switch doc[i] {
		case ',':
			i = skipSpace(doc, i+1)
		case '}':
			return ms, nil
		default:
			return nil, errNotObject
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index after the string starting at b[i] (a quote)
// and whether it holds escapes.
func stringEnd(b []byte, i int) (int, bool, error) {
	escaped := false
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			return j + 1, escaped, nil
		}
	}
	return 0, false, errNotObject
}

// valueEnd returns the index after the JSON value starting at b[i].
func valueEnd(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errNotObject
	}
	switch b[i] {
	case '"':
		end, _, err := stringEnd(b, i)
		return end, err
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, _, err := stringEnd(b, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errNotObject
	default:
		j := i
	scan:
		for ; j < len(b); j++ {
			switch b[j] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				break scan
			}
		}
		if j == i {
			return 0, errNotObject
		}
		return j, nil
	}
}

// appendInt appends n in decimal.
func appendInt(dst []byte, n int) []byte { return strconv.AppendInt(dst, int64(n), 10) }
