package gainsighttest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode"
)

// Paging limits of the list calls.
const (
	defaultPageSize = 100
	maxPageSize     = 1000
)

type listBody struct {
	Select []string `json:"select"`
	Where  *struct {
		Conditions []condition `json:"conditions"`
		Expression string      `json:"expression"`
	} `json:"where"`
	Limit        *int `json:"limit"`
	Page         int  `json:"page"`
	IncludeTotal bool `json:"includeTotal"`
}

// condition is one where condition. Conditions are referred to in the
// expression as A, B, C… in order, or by their alias when they have one.
type condition struct {
	Name     string          `json:"name"`
	Alias    string          `json:"alias"`
	Operator string          `json:"operator"`
	Value    json.RawMessage `json:"value"`
	values   []string
}

// values reads a condition's value: a list, or one scalar.
func (c *condition) parse() error {
	c.Operator = strings.ToUpper(c.Operator)
	switch c.Operator {
	case "EQ", "NE", "CONTAINS", "IS_NULL", "IS_NOT_NULL":
	default:
		return fmt.Errorf("operator %q is not supported (EQ, NE, CONTAINS, IS_NULL, IS_NOT_NULL)", c.Operator)
	}
	if c.Name == "" {
		return fmt.Errorf("condition without name")
	}
	raw := bytes.TrimSpace(c.Value)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		if c.Operator == "IS_NULL" || c.Operator == "IS_NOT_NULL" {
			return nil
		}
		return fmt.Errorf("condition on %s has no value", c.Name)
	}
	var list []any
	if raw[0] == '[' {
		if err := json.Unmarshal(raw, &list); err != nil {
			return fmt.Errorf("condition on %s: %w", c.Name, err)
		}
	} else {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("condition on %s: %w", c.Name, err)
		}
		list = []any{v}
	}
	for _, v := range list {
		c.values = append(c.values, scalarString(v))
	}
	return nil
}

// scalarString renders a JSON scalar for case-insensitive comparison.
func scalarString(v any) string {
	switch t := v.(type) {
	case string:
		return strings.ToLower(t)
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case nil:
		return ""
	}
	return strings.ToLower(fmt.Sprint(v))
}

// fieldValues returns a record field's values as strings (one per list
// element), or nil when the field is absent or empty.
func fieldValues(rec map[string]any, name string) []string {
	v, ok := rec[name]
	if !ok || v == nil {
		return nil
	}
	if list, isList := v.([]any); isList {
		out := make([]string, 0, len(list))
		for _, e := range list {
			out = append(out, scalarString(e))
		}
		return out
	}
	if s, isStr := v.(string); isStr && s == "" {
		return nil
	}
	return []string{scalarString(v)}
}

// match evaluates the condition on rec. EQ holds when any field value equals
// any condition value (strings ignore case); NE is its negation.
func (c *condition) match(rec map[string]any) bool {
	fv := fieldValues(rec, c.Name)
	switch c.Operator {
	case "IS_NULL":
		return len(fv) == 0
	case "IS_NOT_NULL":
		return len(fv) > 0
	case "CONTAINS":
		for _, f := range fv {
			for _, v := range c.values {
				if strings.Contains(f, v) {
					return true
				}
			}
		}
		return false
	}
	eq := false
	for _, f := range fv {
		for _, v := range c.values {
			if f == v {
				eq = true
			}
		}
	}
	if c.Operator == "NE" {
		return !eq
	}
	return eq
}

// expr is a parsed where expression.
type expr interface {
	eval(rec map[string]any) bool
}

type exprCond struct{ c *condition }
type exprAnd struct{ l, r expr }
type exprOr struct{ l, r expr }

func (e exprCond) eval(rec map[string]any) bool { return e.c.match(rec) }
func (e exprAnd) eval(rec map[string]any) bool  { return e.l.eval(rec) && e.r.eval(rec) }
func (e exprOr) eval(rec map[string]any) bool   { return e.l.eval(rec) || e.r.eval(rec) }

// parseExpression parses "A AND (B OR C)": names of conditions, AND, OR
// (AND binds tighter) and parentheses. An empty expression ANDs every
// condition.
func parseExpression(s string, conds map[string]*condition, order []string) (expr, error) {
	if strings.TrimSpace(s) == "" {
		var e expr
		for _, n := range order {
			c := exprCond{conds[n]}
			if e == nil {
				e = c
			} else {
				e = exprAnd{e, c}
			}
		}
		return e, nil
	}
	p := &exprParser{toks: tokenize(s), conds: conds}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.toks) {
		return nil, fmt.Errorf("expression %q: unexpected %q", s, p.toks[p.pos])
	}
	return e, nil
}

func tokenize(s string) []string {
	var toks []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			toks = append(toks, cur.String())
			cur.Reset()
		}
	}
	for _, r := range s {
		switch {
		case r == '(' || r == ')':
			flush()
			toks = append(toks, string(r))
		case unicode.IsSpace(r):
			flush()
		default:
			cur.WriteRune(r)
		}
	}
	flush()
	return toks
}

type exprParser struct {
	toks  []string
	pos   int
	conds map[string]*condition
}

func (p *exprParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *exprParser) or() (expr, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for strings.EqualFold(p.peek(), "OR") {
		p.pos++
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = exprOr{l, r}
	}
	return l, nil
}

func (p *exprParser) and() (expr, error) {
	l, err := p.term()
	if err != nil {
		return nil, err
	}
	for strings.EqualFold(p.peek(), "AND") {
		p.pos++
		r, err := p.term()
		if err != nil {
			return nil, err
		}
		l = exprAnd{l, r}
	}
	return l, nil
}

func (p *exprParser) term() (expr, error) {
	t := p.peek()
	switch {
	case t == "":
		return nil, fmt.Errorf("expression ends early")
	case t == "(":
		p.pos++
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, fmt.Errorf("expression: missing )")
		}
		p.pos++
		return e, nil
	}
	c, ok := p.conds[t]
	if !ok {
		return nil, fmt.Errorf("expression names no condition %q", t)
	}
	p.pos++
	return exprCond{c}, nil
}

// conditionName is the expression name of the i-th condition: A…Z, then
// AA, AB…
func conditionName(i int) string {
	if i < 26 {
		return string(rune('A' + i))
	}
	return conditionName(i/26-1) + conditionName(i%26)
}

// handleList serves POST /v1/users/services/list. Records come in creation
// order; data is {"records":[…], "page":n, "limit":n} plus "totalCount" when
// includeTotal is set.
func (s *Server) handleList(_ *http.Request, body []byte) response {
	var b listBody
	if err := decodeStrict(body, &b); err != nil {
		return fail(http.StatusBadRequest, "", err.Error())
	}
	limit := defaultPageSize
	if b.Limit != nil {
		limit = *b.Limit
	}
	if limit < 1 || limit > maxPageSize {
		return fail(http.StatusBadRequest, "", fmt.Sprintf("limit %d must be between 1 and %d", limit, maxPageSize))
	}
	if b.Page < 0 {
		return fail(http.StatusBadRequest, "", "page must not be negative")
	}
	var filter expr
	if b.Where != nil && len(b.Where.Conditions) > 0 {
		conds := map[string]*condition{}
		var order []string
		for i := range b.Where.Conditions {
			c := &b.Where.Conditions[i]
			if err := c.parse(); err != nil {
				return fail(http.StatusBadRequest, "", err.Error())
			}
			name := conditionName(i)
			if c.Alias != "" {
				name = c.Alias
			}
			conds[name] = c
			order = append(order, name)
		}
		e, err := parseExpression(b.Where.Expression, conds, order)
		if err != nil {
			return fail(http.StatusBadRequest, "", err.Error())
		}
		filter = e
	}
	var matched []map[string]any
	for _, u := range s.sortedUsers() {
		if filter == nil || filter.eval(u.rec) {
			matched = append(matched, u.rec)
		}
	}
	records := []map[string]any{}
	for i := b.Page * limit; i < len(matched) && i < (b.Page+1)*limit; i++ {
		records = append(records, project(matched[i], b.Select))
	}
	data := map[string]any{"records": records, "page": b.Page, "limit": limit}
	if b.IncludeTotal {
		data["totalCount"] = len(matched)
	}
	return ok(data)
}

// project copies the selected fields of rec (all when sel is empty); Gsid
// is always included.
func project(rec map[string]any, sel []string) map[string]any {
	if len(sel) == 0 {
		return cloneRecord(rec)
	}
	out := map[string]any{"Gsid": rec["Gsid"]}
	for _, f := range sel {
		if v, ok := rec[f]; ok {
			out[f] = cloneValue(v)
		}
	}
	return out
}
