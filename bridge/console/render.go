package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strings"
	"time"

	"go.uber.org/zap"
)

// view is what every template gets: the layout's part and the page's data.
type view struct {
	Title  string
	Nav    []navItem
	Admin  string // the signed-in operator, "" on the login page
	Via    string
	CSRF   string
	Now    time.Time
	Status int
	Data   any
}

type navItem struct {
	Path, Title string
	Current     bool
}

var funcs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"ago": func(now, t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return humanDuration(now.Sub(t)) + " ago"
	},
	// short is a time of the coming day or so: "18:00 UTC", or "Mar 5
	// 00:00 UTC" on another day than now's.
	"short": func(now, t time.Time) string {
		t, now = t.UTC(), now.UTC()
		if t.YearDay() == now.YearDay() && t.Year() == now.Year() {
			return t.Format("15:04 UTC")
		}
		return t.Format("Jan 2 15:04 UTC")
	},
	"duration": humanDuration,
	"value":    formatValue,
	"join":     strings.Join,
	"add":      func(a, b int) int { return a + b },
	"sortedKeys": func(m map[string]any) []string {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return keys
	},
}

// humanDuration prints d rounded to what matters: "45s", "12m", "3h 20m",
// "2d 4h".
func humanDuration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh %dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd %dh", int(d.Hours())/24, int(d.Hours())%24)
}

// formatValue prints an attribute value: strings as they are, nil as "—",
// the rest as JSON.
func formatValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "—"
	case string:
		return v
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func (c *Console) parseTemplates() error {
	entries, err := templateFiles.ReadDir("templates")
	if err != nil {
		return fmt.Errorf("console: templates: %w", err)
	}
	c.tmpl = map[string]*template.Template{}
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/"+e.Name())
		if err != nil {
			return fmt.Errorf("console: template %s: %w", name, err)
		}
		c.tmpl[name] = t
	}
	return nil
}

func (c *Console) render(w http.ResponseWriter, r *http.Request, p *principal, status int, tmpl, title string, data any) {
	v := view{Title: title, Now: c.opts.Now(), Status: status, Data: data}
	if p != nil {
		v.Admin, v.Via, v.CSRF = p.name, p.via, c.csrfToken(c.opts.Settings(), p)
		for _, pg := range pages() {
			if pg.nav {
				path := "/ui" + pg.path
				v.Nav = append(v.Nav, navItem{Path: path, Title: pg.title,
					Current: r.URL.Path == path || (pg.path != "/" && strings.HasPrefix(r.URL.Path, path+"/"))})
			}
		}
	}
	var buf bytes.Buffer
	if err := c.tmpl[tmpl].Execute(&buf, v); err != nil {
		c.log.Error("console: render", zap.String("template", tmpl), zap.Error(err))
		http.Error(w, "The page could not be rendered.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

type errorData struct{ Message string }

func (c *Console) renderError(w http.ResponseWriter, r *http.Request, p *principal, status int, msg string) {
	c.render(w, r, p, status, "error", http.StatusText(status), errorData{Message: msg})
}
