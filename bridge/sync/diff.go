package sync

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight"
)

// diffRecord returns the fields of desired that differ from confirmed, plus
// a null for every non-empty field of confirmed that desired no longer has
// (so Gainsight clears it). Values are compared by their JSON form, lists of
// strings as sets, and an empty value equals an absent one.
func diffRecord(desired, confirmed gainsight.Record) gainsight.Record {
	changes := gainsight.Record{}
	for k, v := range desired {
		if !sameValue(v, confirmed[k]) {
			changes[k] = v
		}
	}
	for k, v := range confirmed {
		if _, ok := desired[k]; !ok && !isEmpty(normalise(v)) {
			changes[k] = nil
		}
	}
	return changes
}

// restrict returns the fields of rec named in keys (and Manager), the part
// of a found Gainsight record the engine manages.
func restrict(rec gainsight.Record, keys gainsight.Record) gainsight.Record {
	out := gainsight.Record{}
	for k := range keys {
		if v, ok := rec[k]; ok && v != nil {
			out[k] = v
		}
	}
	if v, ok := rec[fieldManager]; ok && v != nil {
		out[fieldManager] = v
	}
	return out
}

// applyChanges merges changes that Gainsight accepted into the confirmed
// record; a null removes the field.
func applyChanges(confirmed, changes gainsight.Record) gainsight.Record {
	out := cloneRecord(confirmed)
	for k, v := range changes {
		if v == nil {
			delete(out, k)
			continue
		}
		out[k] = v
	}
	return out
}

// cloneRecord copies r (an empty record for nil).
func cloneRecord(r gainsight.Record) gainsight.Record {
	out := make(gainsight.Record, len(r))
	for k, v := range r {
		out[k] = v
	}
	return out
}

func sameValue(a, b any) bool {
	na, nb := normalise(a), normalise(b)
	if isEmpty(na) && isEmpty(nb) {
		return true
	}
	return reflect.DeepEqual(na, nb)
}

// normalise turns a value into its JSON-decoded form (so []string and []any,
// int and float64 compare equal) with lists of strings sorted.
func normalise(v any) any {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return v
	}
	if list, ok := out.([]any); ok {
		strs := make([]string, 0, len(list))
		for _, e := range list {
			s, ok := e.(string)
			if !ok {
				return out
			}
			strs = append(strs, s)
		}
		sort.Strings(strs)
		return strs
	}
	return out
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []string:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return false
}

// stringField returns rec[name] as a string, or "".
func stringField(rec gainsight.Record, name string) string {
	s, _ := rec[name].(string)
	return s
}

// equalFold compares two join keys case-insensitively, ignoring empties.
func equalFold(a, b string) bool {
	return a != "" && strings.EqualFold(a, b)
}
