package store

import (
	"strings"
	"unicode"
)

// Fold returns the key under which userNames, group displayNames and
// emails compare case-insensitively (RFC 7643 caseExact=false), the same on
// every backend and in the SCIM filter code: each rune is lower-cased and
// then replaced by the smallest rune of its simple case-folding orbit. That
// is Unicode simple case folding: Σ, σ and the final ς are one letter, as
// are K, k and the Kelvin sign, while ß and "ss" or dotless ı and i stay
// different letters. The key is for comparison only; it is never shown.
func Fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		b.WriteRune(foldRune(r))
	}
	return b.String()
}

func foldRune(r rune) rune {
	if r < unicode.MaxASCII {
		if 'A' <= r && r <= 'Z' {
			return r
		}
		if 'a' <= r && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}
	l := unicode.ToLower(r)
	min := l
	for f := unicode.SimpleFold(l); f != l; f = unicode.SimpleFold(f) {
		if f < min {
			min = f
		}
	}
	return min
}
