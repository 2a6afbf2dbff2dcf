package translate

import (
	"reflect"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight/record"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/resolve"
)

// Diff returns the fields of desired whose value differs from confirmed
// (the record Gainsight last confirmed), i.e. what an update must send. It
// is never nil; an empty result means nothing to send.
//
// Values are compared by meaning, not by Go type, because confirmed
// usually comes back from JSON: lists (permissionBundles, multi-picklists)
// are compared as sets, order-insensitively, whether []string or []any;
// scalars are compared as text, so 42 equals 42.0 and "42". A key present
// in confirmed but absent from desired is left out: it is no longer (or
// never was) managed by the bridge, and the bridge never clears what it
// does not manage.
func Diff(desired, confirmed record.Record) record.Record {
	out := record.Record{}
	for k, v := range desired {
		if v == nil {
			continue
		}
		cv, ok := confirmed[k]
		if !ok || !sameValue(v, cv) {
			out[k] = v
		}
	}
	return out
}

func isList(v any) bool {
	switch v.(type) {
	case []string, []any:
		return true
	}
	return false
}

func sameValue(a, b any) bool {
	if b == nil {
		return a == nil
	}
	if isList(a) || isList(b) {
		if !isList(a) || !isList(b) {
			return false
		}
		as, okA := resolve.AsStrings(a)
		bs, okB := resolve.AsStrings(b)
		if !okA || !okB {
			return reflect.DeepEqual(a, b)
		}
		return sameSet(as, bs)
	}
	as, okA := resolve.AsString(a)
	bs, okB := resolve.AsString(b)
	if okA && okB {
		return as == bs
	}
	return reflect.DeepEqual(a, b)
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	a, b = sortedCopy(a), sortedCopy(b)
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
