package bridge

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/translate"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

// watchConfig reloads the configuration on a Reload signal and whenever
// the content of the file, or of a secret file it names (token hashes,
// access key, DSN), changes — so a token rotated in a mounted
// Secret takes effect without a restart. Content is compared, not
// modification times, because Kubernetes swaps mounted files through
// symlinks.
func (b *Bridge) watchConfig(ctx context.Context) {
	if b.opts.ConfigPath == "" {
		// Still drain reload requests so a sender never blocks.
		for {
			select {
			case <-ctx.Done():
				return
			case <-b.opts.Reload:
				b.log.Warn("reload requested but the bridge runs without a config file")
			}
		}
	}
	last := b.configSum
	var tick <-chan time.Time
	if b.opts.WatchInterval > 0 {
		t := time.NewTicker(b.opts.WatchInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		var read fileHashes
		select {
		case <-ctx.Done():
			return
		case <-b.opts.Reload:
			read = b.watchedFiles()
			b.reloadLogged(ctx, "signal")
		case <-tick:
			read = b.watchedFiles()
			if sum := read.sum(); sum == nil || bytes.Equal(sum, last) {
				continue
			}
			b.reloadLogged(ctx, "file change")
		}
		// The configuration now in effect decides which secret files are
		// watched; their content is taken as it was before the reload
		// read them, so a file that changes while the reload runs is a
		// change for the next tick. Only a file the reload started to
		// watch is read now.
		last = read.extend(b.opts.ConfigPath, secretFiles(b.Config(), b.opts.ConfigPath)).sum()
	}
}

// watchedSum hashes the config file and the secret files the configuration
// in effect names; nil when the config file cannot be read.
func (b *Bridge) watchedSum() []byte {
	return b.watchedFiles().sum()
}

// watchedFiles reads the config file and the secret files the
// configuration in effect names.
func (b *Bridge) watchedFiles() fileHashes {
	return fileHashes{}.extend(b.opts.ConfigPath, secretFiles(b.Config(), b.opts.ConfigPath))
}

// fileHashes is the content hash of a config file (first) and the secret
// files it names, in order.
type fileHashes struct {
	paths  []string
	hashes map[string][sha256.Size]byte
	ok     bool // the config file could be read
}

// extend returns the hashes of path and others, taking those already in h
// from h and reading the rest (a missing secret file hashes as empty, so
// its appearance counts as a change).
func (h fileHashes) extend(path string, others []string) fileHashes {
	out := fileHashes{paths: append([]string{path}, others...), hashes: map[string][sha256.Size]byte{}}
	for i, p := range out.paths {
		if sum, ok := h.hashes[p]; ok {
			out.hashes[p] = sum
			if i == 0 {
				out.ok = h.ok
			}
			continue
		}
		data, err := os.ReadFile(p)
		if i == 0 {
			out.ok = err == nil
		}
		out.hashes[p] = sha256.Sum256(data)
	}
	return out
}

// sum combines the hashes; nil when the config file could not be read.
func (h fileHashes) sum() []byte {
	if !h.ok {
		return nil
	}
	d := sha256.New()
	for _, p := range h.paths {
		s := h.hashes[p]
		d.Write([]byte(p))
		d.Write(s[:])
	}
	return d.Sum(nil)
}

// secretFiles lists the files cfg reads secrets from, resolved the way the
// loader resolves them: relative to the config file's directory.
func secretFiles(cfg *config.Config, path string) []string {
	var names []string
	for _, t := range cfg.SCIM.Tokens {
		names = append(names, t.SHA256File)
	}
	for _, t := range cfg.Console.Tokens {
		names = append(names, t.SHA256File)
	}
	names = append(names, cfg.Console.SessionKeyFile)
	names = append(names, cfg.Gainsight.AccessKeyFile, cfg.Store.Postgres.DSNFile)
	var out []string
	for _, n := range names {
		if n == "" {
			continue
		}
		if !filepath.IsAbs(n) {
			n = filepath.Join(filepath.Dir(path), n)
		}
		out = append(out, n)
	}
	return out
}

func (b *Bridge) reloadLogged(ctx context.Context, why string) {
	n, err := b.Reload(ctx)
	if err != nil {
		b.metrics.reloads.WithLabelValues("failure").Inc()
		b.metrics.lastReloadOK.Set(0)
		b.log.Error("config reload failed; keeping the previous configuration",
			zap.String("trigger", why), zap.Error(err))
		return
	}
	b.metrics.reloads.WithLabelValues("success").Inc()
	b.metrics.lastReloadOK.Set(1)
	b.metrics.lastReload.Set(float64(b.opts.Now().Unix()))
	b.log.Info("config reloaded", zap.String("trigger", why), zap.Int("usersMarkedDirty", n))
}

// Reload reads the configuration file again. An invalid file changes
// nothing. A valid one replaces tokens, mapping and group profiles at once
// and marks dirty every user whose desired Gainsight record may have
// changed; it returns how many. Listener, store and Gainsight settings need
// a restart and are reported, not applied.
func (b *Bridge) Reload(ctx context.Context) (int, error) {
	if b.opts.ConfigPath == "" {
		return 0, errors.New("reload: no config file")
	}
	next, err := config.Load(b.opts.ConfigPath)
	if err != nil {
		return 0, fmt.Errorf("reload: %w", err)
	}
	return b.Apply(ctx, next)
}

// Apply swaps in a validated configuration and fans out the change: every
// user whose desired record may differ is marked dirty. It returns how many.
func (b *Bridge) Apply(ctx context.Context, next *config.Config) (int, error) {
	prev := b.cur.Load()
	st, err := newState(next)
	if err != nil {
		return 0, fmt.Errorf("reload: %w", err)
	}
	for _, f := range restartOnly(prev.cfg, next) {
		b.log.Warn("config change needs a restart to take effect", zap.String("field", f))
	}
	var ids []string
	if config.NeedsFullResync(prev.cfg, next) {
		ids, err = allUserIDs(ctx, b.opts.Store)
	} else {
		ids, err = affectedByProfiles(ctx, b.opts.Store, prev.cfg.Groups, next.Groups)
	}
	if err != nil {
		return 0, fmt.Errorf("reload: find affected users: %w", err)
	}
	// Each user is marked with the priority of what the new profiles do
	// to it: a user the change deprovisions is urgent.
	byPriority, err := reloadPriorities(ctx, b.opts.Store, prev.mapper, st.mapper, ids)
	if err != nil {
		return 0, fmt.Errorf("reload: %w", err)
	}
	// Swap first, then mark: the engine must plan the marked users with
	// the new profiles.
	b.cur.Store(st)
	for _, p := range store.Priorities() {
		if err := markDirtyChunked(ctx, b.opts.Store, p, byPriority[p]); err != nil {
			return 0, fmt.Errorf("reload: mark %d users dirty: %w", len(byPriority[p]), err)
		}
	}
	b.auditReload(ctx, ids, reloadDetail(prev.cfg, next))
	if len(ids) > 0 {
		b.metrics.fanout.Observe(float64(len(ids)))
		b.engine.Kick()
	}
	if prev.cfg.Sync.Mode != next.Sync.Mode || prev.cfg.Sync.Guard != next.Sync.Guard {
		b.log.Info("sync mode or mass-deactivation guard changed", zap.String("mode", next.Sync.Mode),
			zap.String("previous_mode", prev.cfg.Sync.Mode), zap.Bool("guard", next.Sync.Guard.Enabled))
		// Back in live mode the engine releases what shadow mode planned
		// on its next pass: now.
		b.engine.Kick()
	}
	return len(ids), nil
}

// restartOnly lists the changed settings a reload cannot apply.
func restartOnly(a, b *config.Config) []string {
	var out []string
	if a.Listen != b.Listen {
		out = append(out, "listen")
	}
	if !reflect.DeepEqual(a.Store, b.Store) {
		out = append(out, "store")
	}
	if !reflect.DeepEqual(a.Gainsight, b.Gainsight) {
		out = append(out, "gainsight")
	}
	if a.Sync.WithoutRollout() != b.Sync.WithoutRollout() {
		out = append(out, "sync")
	}
	if !reflect.DeepEqual(a.Google, b.Google) {
		out = append(out, "google")
	}
	if a.Log != b.Log {
		out = append(out, "log")
	}
	if a.SCIM.BasePath != b.SCIM.BasePath || a.SCIM.MaxBodyBytes != b.SCIM.MaxBodyBytes || a.SCIM.ExternalURL != b.SCIM.ExternalURL ||
		a.SCIM.Limits != b.SCIM.Limits {
		out = append(out, "scim")
	}
	return out
}

// profileKey identifies what a profile matches.
type profileKey struct{ field, value string }

func keysOf(p config.GroupProfile) []profileKey {
	var ks []profileKey
	if p.DisplayName != "" {
		ks = append(ks, profileKey{"displayName", strings.ToLower(p.DisplayName)})
	}
	if p.ExternalID != "" {
		ks = append(ks, profileKey{"externalId", p.ExternalID})
	}
	return ks
}

// affectedByProfiles returns the members of every pushed group whose
// matching profile was added, removed or changed.
func affectedByProfiles(ctx context.Context, st store.Store, old, next []config.GroupProfile) ([]string, error) {
	seen := map[string]bool{}
	var ids []string
	for _, ref := range config.DiffProfiles(old, next) {
		var groups []store.Group
		for _, q := range []store.Query{{Field: "displayName", Value: ref.DisplayName}, {Field: "externalId", Value: ref.ExternalID}} {
			if q.Value == "" {
				continue
			}
			gs, _, err := st.ListGroups(ctx, q, true)
			if err != nil {
				return nil, err
			}
			groups = append(groups, gs...)
		}
		for _, g := range groups {
			for _, m := range g.Members {
				if !seen[m] {
					seen[m] = true
					ids = append(ids, m)
				}
			}
		}
	}
	return ids, nil
}

// reloadPriorities groups ids by the priority of what the change from the
// mapping prev to next does to each user (translate.Mapper.ReloadPriority).
// A user deleted meanwhile is marked normal.
func reloadPriorities(ctx context.Context, st store.Store, prev, next *translate.Mapper, ids []string) (map[store.Priority][]string, error) {
	out := map[store.Priority][]string{}
	for _, id := range ids {
		u, err := st.GetUser(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			out[store.PriorityNormal] = append(out[store.PriorityNormal], id)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read user %s: %w", id, err)
		}
		groups, err := st.GroupsOfUser(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("read groups of user %s: %w", id, err)
		}
		p := prev.ReloadPriority(next, u, groups)
		out[p] = append(out[p], id)
	}
	return out, nil
}

func markDirtyChunked(ctx context.Context, st store.Store, p store.Priority, ids []string) error {
	const chunk = 500
	for len(ids) > 0 {
		n := min(chunk, len(ids))
		if err := st.MarkDirtyAs(ctx, p, ids[:n]...); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}
