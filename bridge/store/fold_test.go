package store

import "testing"

func TestFold(t *testing.T) {
	tests := []struct {
		a, b string
		same bool
	}{
		{"Ann@Example.COM", "ann@example.com", true},
		{"ΣΊΣΥΦΟΣ", "σίσυφος", true}, // final sigma
		{"ΣΊΣΥΦΟΣ", "σίσυφοσ", true},
		{"STRAẞE", "straße", true},
		{"straße", "strasse", false},
		{"İpek", "ipek", true},
		{"ıpek", "ipek", false},
		{"\u212Aelvin", "kelvin", true},
		{"ǄEMAL", "ǅemal", true},
		{"ЖУКОВ", "жуков", true},
		{"ſam", "sam", true}, // long s folds to s
		{"a", "b", false},
		{"", "", true},
	}
	for _, tt := range tests {
		if got := Fold(tt.a) == Fold(tt.b); got != tt.same {
			t.Errorf("Fold(%q) == Fold(%q) is %v, want %v (%q, %q)", tt.a, tt.b, got, tt.same, Fold(tt.a), Fold(tt.b))
		}
	}
}
