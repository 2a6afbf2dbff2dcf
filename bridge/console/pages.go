package console

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// personalText stands for a personal value the console does not show.
const personalText = "personal data, not shown"

func (c *Console) overviewPage(r *http.Request, _ *principal) (any, error) {
	return c.opts.Backend.Overview(r.Context())
}

// usersPageSize is how many users a page of the users list shows.
const usersPageSize = 50

type usersData struct {
	Query  string
	State  string
	States []string
	Users  []store.UserSummary
	Total  int
	Page   int
	First  int // 1-based index of the first user shown
	Prev   string
	Next   string
}

func (c *Console) usersPage(r *http.Request, _ *principal) (any, error) {
	q := r.URL.Query()
	d := usersData{Query: strings.TrimSpace(q.Get("q")), State: q.Get("state"), States: c.opts.Settings().States}
	d.Page, _ = strconv.Atoi(q.Get("page"))
	d.Page = max(d.Page, 1)
	search := store.UserSearch{Text: d.Query, Offset: (d.Page - 1) * usersPageSize, Limit: usersPageSize}
	if d.State != "" {
		search.States = []string{d.State}
	}
	var err error
	d.Users, d.Total, err = c.opts.Backend.SearchUsers(r.Context(), search)
	if err != nil {
		return nil, err
	}
	d.First = search.Offset + 1
	link := func(page int) string {
		v := map[string][]string{"page": {strconv.Itoa(page)}}
		if d.Query != "" {
			v["q"] = []string{d.Query}
		}
		if d.State != "" {
			v["state"] = []string{d.State}
		}
		return "/ui/users?" + encodeQuery(v)
	}
	if d.Page > 1 {
		d.Prev = link(d.Page - 1)
	}
	if search.Offset+len(d.Users) < d.Total {
		d.Next = link(d.Page + 1)
	}
	return d, nil
}

// field is one attribute shown on the user page.
type field struct {
	Name    string
	Value   string
	Sources []string
	Masked  bool
}

type userData struct {
	User      UserView
	Effective []field
	Groups    []groupRef
	Pushed    []field
	History   []store.AuditEntry
	Older     string
	Actions   []action
	Done      string
	Personal  bool
}

type groupRef struct {
	DisplayName, Profile string
	Profiled             bool
}

// historyPageSize is how many audit entries the user page shows at once.
const historyPageSize = 50

func (c *Console) userPage(r *http.Request, _ *principal) (any, error) {
	key := mux.Vars(r)["id"]
	u, err := c.opts.Backend.User(r.Context(), key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errPage(http.StatusNotFound, "No user %q (looked up as SCIM id, userName and GSID).", key)
	}
	if err != nil {
		return nil, err
	}
	s := c.opts.Settings()
	hide := func(name string) bool { return !s.ShowPersonal && s.Personal != nil && s.Personal(name) }
	d := userData{User: u, Done: r.URL.Query().Get("done"), Personal: s.ShowPersonal}
	if ex := u.Effective; ex != nil {
		for _, a := range ex.Attributes {
			f := field{Name: a.Name, Value: formatValue(a.Value), Sources: a.Sources}
			if hide(a.Name) {
				f.Value, f.Masked = personalText, true
			}
			d.Effective = append(d.Effective, f)
		}
		for _, g := range ex.Groups {
			d.Groups = append(d.Groups, groupRef{DisplayName: g.DisplayName, Profile: g.Profile, Profiled: g.Profiled})
		}
	}
	for _, k := range funcs["sortedKeys"].(func(map[string]any) []string)(u.LastPushed) {
		f := field{Name: k, Value: formatValue(u.LastPushed[k])}
		if hide(k) {
			f.Value, f.Masked = personalText, true
		}
		d.Pushed = append(d.Pushed, f)
	}
	hq := store.AuditQuery{UserID: u.ID, Limit: historyPageSize + 1}
	q := r.URL.Query()
	if id, err := strconv.ParseInt(q.Get("before_id"), 10, 64); err == nil && id > 0 {
		ns, _ := strconv.ParseInt(q.Get("before"), 10, 64)
		hq.BeforeID, hq.BeforeTime = id, time.Unix(0, ns).UTC()
	}
	d.History, err = c.opts.Backend.History(r.Context(), hq)
	if err != nil {
		return nil, err
	}
	if len(d.History) > historyPageSize {
		d.History = d.History[:historyPageSize]
		last := d.History[len(d.History)-1]
		d.Older = "/ui/users/" + u.ID + "?" + encodeQuery(map[string][]string{
			"before": {strconv.FormatInt(last.Time.UnixNano(), 10)}, "before_id": {strconv.FormatInt(last.ID, 10)},
		})
	}
	for _, a := range actions() {
		if a.applies(u) {
			d.Actions = append(d.Actions, a)
		}
	}
	return d, nil
}

func (c *Console) groupsPage(r *http.Request, _ *principal) (any, error) {
	return c.opts.Backend.Groups(r.Context())
}

func encodeQuery(v map[string][]string) string {
	return url.Values(v).Encode()
}

// planPageSize is how many plans a page of the plan shows.
const planPageSize = 50

type planData struct {
	PlanView
	Only  string
	Done  string
	Page  int
	First int
	Prev  string
	Next  string
}

func (c *Console) planPage(r *http.Request, _ *principal) (any, error) {
	q := r.URL.Query()
	d := planData{Only: q.Get("only"), Done: q.Get("done")}
	d.Page, _ = strconv.Atoi(q.Get("page"))
	d.Page = max(d.Page, 1)
	offset := (d.Page - 1) * planPageSize
	v, err := c.opts.Backend.Plan(r.Context(), d.Only, offset, planPageSize)
	if err != nil {
		return nil, err
	}
	s := c.opts.Settings()
	for i := range v.Users {
		for j, f := range v.Users[i].Fields {
			if !s.ShowPersonal && s.Personal != nil && s.Personal(f.Field) {
				v.Users[i].Fields[j] = PlannedFieldView{Field: f.Field, Sources: f.Sources, Masked: true}
			}
		}
	}
	d.PlanView, d.First = v, offset+1
	link := func(page int) string {
		vals := map[string][]string{"page": {strconv.Itoa(page)}}
		if d.Only != "" {
			vals["only"] = []string{d.Only}
		}
		return "/ui/plan?" + encodeQuery(vals)
	}
	if d.Page > 1 {
		d.Prev = link(d.Page - 1)
	}
	if offset+len(v.Users) < v.Total {
		d.Next = link(d.Page + 1)
	}
	return d, nil
}
