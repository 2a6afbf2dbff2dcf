package charts

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// schemaNode is the shape of one config value, read from the bridge's config
// types so the chart cannot drift from the strict config decoder.
type schemaNode struct {
	fields  map[string]*schemaNode // struct: YAML key → field
	elem    *schemaNode            // slice element
	anyKeys bool                   // map: any key, any value
}

// loadConfigSchema parses the config package's Go sources and returns the
// shape of config.Config.
func loadConfigSchema(t *testing.T) *schemaNode {
	t.Helper()
	dir := filepath.Join(repoRoot, "config")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("read config package: %v", err)
	}
	types := map[string]ast.Expr{}
	fset := token.NewFileSet()
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatalf("parse %s: %v", e.Name(), err)
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, s := range gd.Specs {
				ts := s.(*ast.TypeSpec)
				types[ts.Name.Name] = ts.Type
			}
		}
	}
	if _, ok := types["Config"]; !ok {
		t.Fatalf("config package declares no Config type")
	}
	n, err := buildSchema(types, types["Config"], map[string]bool{})
	if err != nil {
		t.Fatalf("config schema: %v", err)
	}
	return n
}

func buildSchema(types map[string]ast.Expr, e ast.Expr, seen map[string]bool) (*schemaNode, error) {
	switch e := e.(type) {
	case *ast.StarExpr:
		return buildSchema(types, e.X, seen)
	case *ast.ArrayType:
		elem, err := buildSchema(types, e.Elt, seen)
		if err != nil {
			return nil, err
		}
		return &schemaNode{elem: elem}, nil
	case *ast.MapType:
		return &schemaNode{anyKeys: true}, nil
	case *ast.SelectorExpr, *ast.InterfaceType:
		return &schemaNode{}, nil // time.Duration, any: scalars
	case *ast.Ident:
		def, ok := types[e.Name]
		if !ok {
			return &schemaNode{}, nil // string, int, bool, …
		}
		if seen[e.Name] {
			return nil, fmt.Errorf("recursive type %s", e.Name)
		}
		seen[e.Name] = true
		defer delete(seen, e.Name)
		return buildSchema(types, def, seen)
	case *ast.StructType:
		n := &schemaNode{fields: map[string]*schemaNode{}}
		for _, f := range e.Fields.List {
			if f.Tag == nil || len(f.Names) == 0 {
				continue
			}
			tag, err := strconv.Unquote(f.Tag.Value)
			if err != nil {
				return nil, err
			}
			key := strings.Split(reflect.StructTag(tag).Get("yaml"), ",")[0]
			if key == "" || key == "-" {
				continue
			}
			child, err := buildSchema(types, f.Type, seen)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", key, err)
			}
			n.fields[key] = child
		}
		return n, nil
	}
	return nil, fmt.Errorf("unsupported type expression %T", e)
}

// check returns one error per value in v that the config decoder would
// reject as unknown or of the wrong shape.
func (n *schemaNode) check(v any, path string) []error {
	if v == nil || n.anyKeys {
		return nil
	}
	var errs []error
	switch v := v.(type) {
	case map[string]any:
		if n.fields == nil {
			return []error{fmt.Errorf("%s: a mapping where the config expects a scalar or list", path)}
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			child, ok := n.fields[k]
			if !ok {
				errs = append(errs, fmt.Errorf("%s: unknown key %q", strings.TrimPrefix(path+"."+k, "."), k))
				continue
			}
			errs = append(errs, child.check(v[k], strings.TrimPrefix(path+"."+k, "."))...)
		}
	case []any:
		if n.elem == nil {
			return []error{fmt.Errorf("%s: a list where the config expects something else", path)}
		}
		for i, e := range v {
			errs = append(errs, n.elem.check(e, fmt.Sprintf("%s[%d]", path, i))...)
		}
	default:
		if n.fields != nil || n.elem != nil {
			errs = append(errs, fmt.Errorf("%s: scalar %v where the config expects a mapping or list", path, v))
		}
	}
	return errs
}

func checkAgainstConfigSchema(t *testing.T, tree any) []error {
	t.Helper()
	return loadConfigSchema(t).check(tree, "")
}

func TestConfigSchemaCheck(t *testing.T) {
	tests := []struct {
		name    string
		tree    any
		wantErr []string
	}{
		{"valid", map[string]any{
			"store":  map[string]any{"type": "sqlite", "sqlite": map[string]any{"path": "/x"}},
			"groups": []any{map[string]any{"name": "a", "superAdmin": true, "fields": map[string]any{"Region__gc": "EMEA"}}},
			"google": map[string]any{"orgUnits": []any{"/eng"}},
		}, nil},
		{"unknown top-level key", map[string]any{"stor": map[string]any{}}, []string{`stor: unknown key "stor"`}},
		{"unknown nested key", map[string]any{"store": map[string]any{"sqlite": map[string]any{"file": "x"}}}, []string{`store.sqlite.file: unknown key "file"`}},
		{"unknown key in list element", map[string]any{"groups": []any{map[string]any{"license": "Full"}}}, []string{`groups[0].license: unknown key "license"`}},
		{"mapping for scalar", map[string]any{"log": map[string]any{"level": map[string]any{"x": 1}}}, []string{"log.level: a mapping"}},
		{"scalar for mapping", map[string]any{"store": "sqlite"}, []string{"store: scalar"}},
	}
	schema := loadConfigSchema(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := schema.check(tt.tree, "")
			if len(errs) != len(tt.wantErr) {
				t.Fatalf("errors = %v, want %v", errs, tt.wantErr)
			}
			for i, err := range errs {
				if !strings.Contains(err.Error(), tt.wantErr[i]) {
					t.Errorf("error %d = %v, want containing %q", i, err, tt.wantErr[i])
				}
			}
		})
	}
}
