package google

import (
	"strings"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/translate"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

// userDoc builds the SCIM user document of a Google user, in the shape the
// SCIM front end stores, so translate maps it unchanged. managerID is the
// store id of the user's manager, "" when the manager is not in scope.
func userDoc(u gUser, managerID string, attrs []config.GoogleAttribute) map[string]any {
	doc := map[string]any{
		"userName":   u.email,
		"externalId": u.id,
		"active":     !u.suspended,
		"emails":     []any{map[string]any{"value": u.email, "type": "work", "primary": true}},
	}
	name := map[string]any{}
	if s := str(lookup(u.raw, "name.givenName")); s != "" {
		name["givenName"] = s
	}
	if s := str(lookup(u.raw, "name.familyName")); s != "" {
		name["familyName"] = s
	}
	if s := str(lookup(u.raw, "name.fullName")); s != "" {
		name["formatted"] = s
		doc["displayName"] = s
	}
	if len(name) > 0 {
		doc["name"] = name
	}
	if s := str(lookup(u.raw, "organizations.title")); s != "" {
		doc["title"] = s
	}
	ent := map[string]any{}
	if s := str(lookup(u.raw, "organizations.department")); s != "" {
		ent["department"] = s
	}
	if managerID != "" {
		ent["manager"] = map[string]any{"value": managerID}
	}
	if len(ent) > 0 {
		doc[translate.EnterpriseURN] = ent
	}
	for _, a := range attrs {
		// Only values (strings, booleans, numbers, lists of values) map;
		// a missing attribute leaves the SCIM attribute unset.
		switch v := lookup(u.raw, a.Google); v.(type) {
		case string, bool, float64, []any:
			setPath(doc, a.SCIM, v)
		}
	}
	return doc
}

// managerEmail returns the value of the user's relation of type manager.
func managerEmail(u gUser) string {
	list, _ := u.raw["relations"].([]any)
	for _, el := range list {
		m, _ := el.(map[string]any)
		if t, _ := m["type"].(string); t == "manager" {
			s, _ := m["value"].(string)
			return strings.ToLower(s)
		}
	}
	return ""
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// lookup reads a dotted path in a Directory API user. A list on the way
// stands for its primary entry, or its first entry when none is primary;
// keys compare case-insensitively.
func lookup(m map[string]any, p string) any {
	var cur any = m
	for _, part := range strings.Split(p, ".") {
		if list, ok := cur.([]any); ok {
			cur = primary(list)
		}
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = getCI(mm, part)
	}
	if list, ok := cur.([]any); ok && len(list) > 0 {
		if _, isMap := list[0].(map[string]any); isMap {
			return nil
		}
	}
	return cur
}

func primary(list []any) any {
	for _, el := range list {
		if m, ok := el.(map[string]any); ok {
			if p, _ := m["primary"].(bool); p {
				return m
			}
		}
	}
	if len(list) == 0 {
		return nil
	}
	return list[0]
}

func getCI(m map[string]any, key string) any {
	if v, ok := m[key]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return nil
}

// setPath sets a SCIM attribute path ("title", "name.middleName",
// "urn:…:User:costCenter") in doc, creating objects on the way.
func setPath(doc map[string]any, p string, v any) {
	target := doc
	if strings.HasPrefix(strings.ToLower(p), "urn:") {
		i := strings.LastIndex(p, ":")
		urn, rest := p[:i], p[i+1:]
		if strings.EqualFold(urn, translate.EnterpriseURN) {
			urn = translate.EnterpriseURN
		}
		ext, ok := doc[urn].(map[string]any)
		if !ok {
			ext = map[string]any{}
			doc[urn] = ext
		}
		target, p = ext, rest
	}
	parts := strings.Split(p, ".")
	for _, part := range parts[:len(parts)-1] {
		next, ok := target[part].(map[string]any)
		if !ok {
			next = map[string]any{}
			target[part] = next
		}
		target = next
	}
	target[parts[len(parts)-1]] = v
}
