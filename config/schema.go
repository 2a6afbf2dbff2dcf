package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"time"
)

//go:generate go run ../internal/tools/chartschema -schema ../charts/scim-bridge/values.schema.json

// Schema is a JSON Schema (draft 7) node describing what the configuration
// loader accepts at one place in the file. It is derived from Config by
// JSONSchema; the Helm chart's values.schema.json carries it under
// "config", so a misspelt key fails `helm install` instead of the pod.
type Schema struct {
	Type  []string // JSON types; empty means any value
	Items *Schema  // schema of a list's elements
	// Properties are the keys of a mapping, in the order of the struct's
	// fields; a mapping with Properties admits no other key. A mapping
	// without them (a Go map) admits any key.
	Properties []Property
	// Pattern constrains string values.
	Pattern string
}

// Property is one key of a mapping.
type Property struct {
	Name   string
	Schema *Schema
}

// envRef matches a string holding a ${VAR} reference, which the loader
// expands before decoding: such a string may stand for a number, a boolean
// or any of an enumeration's values.
const envRef = `\$\{[A-Za-z_][A-Za-z0-9_]*\}`

// durationPattern matches what time.ParseDuration accepts ("90s", "1h30m",
// "0"); the loader takes durations only as strings.
const durationPattern = `^[-+]?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$`

// schemaEnums are the settings that take one of a fixed set of values, by
// field path ("[]" for every element of a list). Validate refuses any
// other value; TestSchemaEnumsMatchValidate keeps the two in step.
var schemaEnums = map[string][]string{
	"gainsight.api":                  {APIServices, APIUsersV1},
	"store.type":                     {StoreSQLite, StorePostgres},
	"mapping.userNameField":          {"SFDCUserName", "SfdcUserId", "Email"},
	"customFields[].type":            {FieldBoolean, FieldMultiPicklist, FieldDropdown, FieldString, FieldNumber},
	"deprovision.onNoProfiledGroups": {DeprovisionKeep, DeprovisionDeactivate},
	"log.level":                      {"debug", "info", "warn", "error"},
	"google.scope":                   {"", GoogleScopeAll, GoogleScopeOrgUnits, GoogleScopeUserGroups},
	"sync.snapshot":                  {SnapshotAuto, SnapshotAlways, SnapshotOff},
	"sync.mode":                      {ModeLive, ModeShadow},
}

var durationType = reflect.TypeFor[time.Duration]()

// JSONSchema returns the schema of the configuration file: every key
// Config's yaml tags name, nothing else, each with the shape the loader
// decodes. It is no stricter than the loader (strings also take numbers and
// booleans, as YAML decoding does; numbers, booleans and enumerations also
// take a ${VAR} reference) and checks no more than shapes and enumerations:
// Validate does the rest.
func JSONSchema() *Schema {
	return schemaOf(reflect.TypeFor[Config](), "")
}

func schemaOf(t reflect.Type, path string) *Schema {
	if enum, ok := schemaEnums[path]; ok {
		quoted := make([]string, len(enum))
		for i, v := range enum {
			quoted[i] = regexp.QuoteMeta(v)
		}
		return &Schema{Type: []string{"string"}, Pattern: "^(" + strings.Join(quoted, "|") + ")$|" + envRef}
	}
	switch {
	case t == durationType:
		return &Schema{Type: []string{"string"}, Pattern: durationPattern + "|" + envRef}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return schemaOf(t.Elem(), path)
	case reflect.Struct:
		s := &Schema{Type: []string{"object"}}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if !f.IsExported() || name == "" || name == "-" {
				continue
			}
			s.Properties = append(s.Properties, Property{Name: name, Schema: schemaOf(f.Type, joinPath(path, name))})
		}
		return s
	case reflect.Slice, reflect.Array:
		return &Schema{Type: []string{"array"}, Items: schemaOf(t.Elem(), path+"[]")}
	case reflect.Map:
		return &Schema{Type: []string{"object"}}
	case reflect.String:
		return &Schema{Type: []string{"string", "number", "boolean"}}
	case reflect.Bool:
		return &Schema{Type: []string{"boolean", "string"}, Pattern: envRef}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return &Schema{Type: []string{"integer", "string"}, Pattern: envRef}
	case reflect.Float32, reflect.Float64:
		return &Schema{Type: []string{"number", "string"}, Pattern: envRef}
	case reflect.Interface:
		return &Schema{}
	}
	panic(fmt.Sprintf("config: no JSON schema for %s at %q", t, path))
}

// MarshalJSON writes the schema with its keys in a fixed order and the
// properties in field order, so the generated file reads like the struct.
func (s *Schema) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	n := 0
	field := func(key string, v any) error {
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		k, _ := json.Marshal(key)
		b.Write(k)
		b.WriteByte(':')
		raw, err := json.Marshal(v)
		if err != nil {
			return err
		}
		b.Write(raw)
		return nil
	}
	var err error
	switch len(s.Type) {
	case 0:
	case 1:
		err = field("type", s.Type[0])
	default:
		err = field("type", s.Type)
	}
	if err == nil && s.Pattern != "" {
		err = field("pattern", s.Pattern)
	}
	if err == nil && s.Items != nil {
		err = field("items", s.Items)
	}
	if err == nil && s.Properties != nil {
		err = field("additionalProperties", false)
		if err == nil {
			err = field("properties", orderedProperties(s.Properties))
		}
	}
	if err != nil {
		return nil, err
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

type orderedProperties []Property

func (p orderedProperties) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, prop := range p {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(prop.Name)
		b.Write(k)
		b.WriteByte(':')
		raw, err := json.Marshal(prop.Schema)
		if err != nil {
			return nil, err
		}
		b.Write(raw)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
