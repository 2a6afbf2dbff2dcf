package google

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
	admin "google.golang.org/api/admin/directory/v1"
	"google.golang.org/api/googleapi"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

// Page sizes: the most the Directory API returns per page.
const (
	userPageSize   = 500
	groupPageSize  = 200
	memberPageSize = 200
)

// gUser is one Google user as listed.
type gUser struct {
	id        string
	email     string
	suspended bool
	orgUnit   string
	raw       map[string]any // the Directory API user as JSON values
}

// gGroup is one pushed Google group with its flattened user members.
type gGroup struct {
	id, email, name string
	members         []string // Google user ids, sorted
}

// snapshot is what one poll read from Google.
type snapshot struct {
	users   []gUser // every user of the customer, by email
	groups  []gGroup
	inScope map[string]bool // Google user ids in scope
}

// directory reads the Directory API with retries.
type directory struct {
	svc         *admin.Service
	cfg         config.GoogleSource
	clientID    string
	logger      *zap.Logger
	maxAttempts int
	backoff     time.Duration
	maxBackoff  time.Duration
	timeout     time.Duration
}

func (d *directory) info(op, scope string) callInfo {
	return callInfo{op: op, scope: scope, subject: d.cfg.Subject, clientID: d.clientID}
}

// call runs fn until it succeeds, fails for good, or the attempts run out,
// backing off exponentially (or as Retry-After says) between attempts.
func (d *directory) call(ctx context.Context, info callInfo, fn func(context.Context) error) error {
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, d.timeout)
		err := fn(actx)
		cancel()
		if err == nil {
			return nil
		}
		e := classify(err, info)
		if !e.Retryable() || attempt >= d.maxAttempts || ctx.Err() != nil {
			if e.Retryable() && ctx.Err() == nil {
				e.Err = fmt.Errorf("gave up after %d attempts: %w", attempt, e.Err)
			}
			return e
		}
		wait := d.backoff << (attempt - 1)
		if ra, ok := retryAfter(err); ok && ra > wait {
			wait = ra
		}
		wait = min(wait, d.maxBackoff)
		d.logger.Warn("google: call failed, retrying", zap.String("op", info.op), zap.String("reason", e.Reason),
			zap.Int("attempt", attempt), zap.Duration("wait", wait), zap.Error(err))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return classify(ctx.Err(), info)
		case <-t.C:
		}
	}
}

func retryAfter(err error) (time.Duration, bool) {
	gerr, ok := err.(*googleapi.Error)
	if !ok || gerr.Header == nil {
		return 0, false
	}
	v := gerr.Header.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t), true
	}
	return 0, false
}

// needsFullProjection reports whether an attribute mapping reads custom
// schemas, which only the full projection returns.
func (d *directory) needsFullProjection() bool {
	for _, a := range d.cfg.Attributes {
		if strings.HasPrefix(strings.ToLower(a.Google), "customschemas") {
			return true
		}
	}
	return false
}

// listUsers lists every user of the customer (or domain), 500 per page.
func (d *directory) listUsers(ctx context.Context, maxPages int) ([]gUser, error) {
	var out []gUser
	tok := ""
	for page := 0; maxPages == 0 || page < maxPages; page++ {
		c := d.svc.Users.List().MaxResults(userPageSize).OrderBy("email")
		if d.cfg.Customer != "" {
			c = c.Customer(d.cfg.Customer)
		} else {
			c = c.Domain(d.cfg.Domain)
		}
		if d.needsFullProjection() {
			c = c.Projection("full")
		}
		if tok != "" {
			c = c.PageToken(tok)
		}
		var res *admin.Users
		err := d.call(ctx, d.info("list users", ScopeUserReadonly), func(ctx context.Context) error {
			var err error
			res, err = c.Context(ctx).Do()
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, u := range res.Users {
			gu, err := toGUser(u)
			if err != nil {
				return nil, fmt.Errorf("google: list users: %w", err)
			}
			out = append(out, gu)
		}
		if tok = res.NextPageToken; tok == "" {
			break
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].email < out[j].email })
	return out, nil
}

func toGUser(u *admin.User) (gUser, error) {
	b, err := json.Marshal(u)
	if err != nil {
		return gUser{}, fmt.Errorf("encode user %s: %w", u.Id, err)
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		return gUser{}, fmt.Errorf("decode user %s: %w", u.Id, err)
	}
	return gUser{
		id:        u.Id,
		email:     strings.ToLower(u.PrimaryEmail),
		suspended: u.Suspended,
		orgUnit:   u.OrgUnitPath,
		raw:       raw,
	}, nil
}

// listGroupsPage lists the first page of groups.
func (d *directory) listGroupsPage(ctx context.Context) ([]*admin.Group, error) {
	return d.listGroupPages(ctx, 1)
}

// listGroups lists every group of the customer (or domain).
func (d *directory) listGroups(ctx context.Context) ([]*admin.Group, error) {
	return d.listGroupPages(ctx, 0)
}

// listGroupPages lists up to maxPages pages of groups (0: all).
func (d *directory) listGroupPages(ctx context.Context, maxPages int) ([]*admin.Group, error) {
	var out []*admin.Group
	tok := ""
	for page := 1; ; page++ {
		c := d.svc.Groups.List().MaxResults(groupPageSize)
		if d.cfg.Customer != "" {
			c = c.Customer(d.cfg.Customer)
		} else {
			c = c.Domain(d.cfg.Domain)
		}
		if tok != "" {
			c = c.PageToken(tok)
		}
		var res *admin.Groups
		err := d.call(ctx, d.info("list groups", ScopeGroupReadonly), func(ctx context.Context) error {
			var err error
			res, err = c.Context(ctx).Do()
			return err
		})
		if err != nil {
			return nil, err
		}
		out = append(out, res.Groups...)
		if tok = res.NextPageToken; tok == "" || page == maxPages {
			return out, nil
		}
	}
}

// membersPage lists the first page of members of a group.
func (d *directory) membersPage(ctx context.Context, key string) ([]*admin.Member, error) {
	return d.listMemberPages(ctx, key, 1)
}

// listMembers lists the direct members of a group (by email or id).
func (d *directory) listMembers(ctx context.Context, key string) ([]*admin.Member, error) {
	return d.listMemberPages(ctx, key, 0)
}

func (d *directory) listMemberPages(ctx context.Context, key string, maxPages int) ([]*admin.Member, error) {
	var out []*admin.Member
	tok := ""
	for page := 1; ; page++ {
		c := d.svc.Members.List(key).MaxResults(memberPageSize)
		if tok != "" {
			c = c.PageToken(tok)
		}
		var res *admin.Members
		err := d.call(ctx, d.info("list members of "+key, ScopeGroupMemberReadonly), func(ctx context.Context) error {
			var err error
			res, err = c.Context(ctx).Do()
			return err
		})
		if err != nil {
			return nil, err
		}
		out = append(out, res.Members...)
		if tok = res.NextPageToken; tok == "" || page == maxPages {
			return out, nil
		}
	}
}

// flattener resolves groups to the set of their users, nested groups
// included, listing each group at most once per poll.
type flattener struct {
	d        *directory
	allUsers []string
	done     map[string]map[string]bool // group key (lower-case) → user ids
}

func (f *flattener) users(ctx context.Context, key string, visiting map[string]bool) (map[string]bool, error) {
	k := strings.ToLower(key)
	if set, ok := f.done[k]; ok {
		return set, nil
	}
	if visiting[k] {
		// A membership cycle adds nothing new.
		return map[string]bool{}, nil
	}
	visiting[k] = true
	members, err := f.d.listMembers(ctx, key)
	if err != nil {
		return nil, err
	}
	set := map[string]bool{}
	for _, m := range members {
		switch m.Type {
		case "USER":
			set[m.Id] = true
		case "GROUP":
			sub, err := f.users(ctx, m.Id, visiting)
			if err != nil {
				return nil, err
			}
			for id := range sub {
				set[id] = true
			}
		case "CUSTOMER":
			for _, id := range f.allUsers {
				set[id] = true
			}
		}
	}
	delete(visiting, k)
	f.done[k] = set
	return set, nil
}

// matchesPattern reports whether a group's name or email matches one of
// the patterns (case-insensitive globs).
func matchesPattern(patterns []string, g *admin.Group) bool {
	for _, p := range patterns {
		p = strings.ToLower(p)
		for _, s := range []string{g.Name, g.Email} {
			if ok, _ := path.Match(p, strings.ToLower(s)); ok {
				return true
			}
		}
	}
	return false
}

// inOrgUnits reports whether an org unit path is one of units or below one.
func inOrgUnits(units []string, ou string) bool {
	ou = strings.ToLower(ou)
	for _, u := range units {
		u = strings.ToLower(strings.TrimSuffix(u, "/"))
		if u == "" || ou == u || strings.HasPrefix(ou, u+"/") {
			return true
		}
	}
	return false
}

// read takes a snapshot of the users and groups in scope.
func (d *directory) read(ctx context.Context) (*snapshot, error) {
	users, err := d.listUsers(ctx, 0)
	if err != nil {
		return nil, err
	}
	snap := &snapshot{users: users, inScope: map[string]bool{}}
	all := make([]string, len(users))
	for i, u := range users {
		all[i] = u.id
	}
	fl := &flattener{d: d, allUsers: all, done: map[string]map[string]bool{}}
	switch d.cfg.EffectiveScope() {
	case config.GoogleScopeOrgUnits:
		for _, u := range users {
			if inOrgUnits(d.cfg.OrgUnits, u.orgUnit) {
				snap.inScope[u.id] = true
			}
		}
	case config.GoogleScopeUserGroups:
		for _, g := range d.cfg.UserGroups {
			set, err := fl.users(ctx, g, map[string]bool{})
			if err != nil {
				return nil, err
			}
			for id := range set {
				snap.inScope[id] = true
			}
		}
	default:
		for _, id := range all {
			snap.inScope[id] = true
		}
	}
	// Members that are not listed users (for example from another
	// customer) cannot be provisioned.
	known := make(map[string]bool, len(all))
	for _, id := range all {
		known[id] = true
	}
	for id := range snap.inScope {
		if !known[id] {
			delete(snap.inScope, id)
		}
	}
	if len(d.cfg.GroupPatterns) == 0 {
		return snap, nil
	}
	groups, err := d.listGroups(ctx)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		if !matchesPattern(d.cfg.GroupPatterns, g) {
			continue
		}
		set, err := fl.users(ctx, g.Email, map[string]bool{})
		if err != nil {
			return nil, err
		}
		gg := gGroup{id: g.Id, email: strings.ToLower(g.Email), name: g.Name}
		for id := range set {
			if snap.inScope[id] {
				gg.members = append(gg.members, id)
			}
		}
		sort.Strings(gg.members)
		snap.groups = append(snap.groups, gg)
	}
	sort.Slice(snap.groups, func(i, j int) bool { return snap.groups[i].email < snap.groups[j].email })
	return snap, nil
}
