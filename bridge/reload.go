package bridge

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

// watchConfig reloads the configuration on a Reload signal and whenever
// the file's content changes. Content is compared, not modification times,
// because Kubernetes swaps ConfigMap files through symlinks.
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
		select {
		case <-ctx.Done():
			return
		case <-b.opts.Reload:
			last = fileSum(b.opts.ConfigPath)
			b.reloadLogged(ctx, "signal")
		case <-tick:
			sum := fileSum(b.opts.ConfigPath)
			if sum == nil || bytes.Equal(sum, last) {
				continue
			}
			last = sum
			b.reloadLogged(ctx, "file change")
		}
	}
}

func fileSum(path string) []byte {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	s := sha256.Sum256(data)
	return s[:]
}

func (b *Bridge) reloadLogged(ctx context.Context, why string) {
	n, err := b.Reload(ctx)
	if err != nil {
		b.metrics.reloads.WithLabelValues("failure").Inc()
		b.log.Error("config reload failed; keeping the previous configuration",
			zap.String("trigger", why), zap.Error(err))
		return
	}
	b.metrics.reloads.WithLabelValues("success").Inc()
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
	// Swap first, then mark: the engine must plan the marked users with
	// the new profiles.
	b.cur.Store(st)
	if err := markDirtyChunked(ctx, b.opts.Store, ids); err != nil {
		return 0, fmt.Errorf("reload: mark %d users dirty: %w", len(ids), err)
	}
	if len(ids) > 0 {
		b.metrics.fanout.Observe(float64(len(ids)))
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
	if a.Sync != b.Sync {
		out = append(out, "sync")
	}
	if !reflect.DeepEqual(a.Google, b.Google) {
		out = append(out, "google")
	}
	if a.Log != b.Log {
		out = append(out, "log")
	}
	if a.SCIM.BasePath != b.SCIM.BasePath || a.SCIM.MaxBodyBytes != b.SCIM.MaxBodyBytes || a.SCIM.ExternalURL != b.SCIM.ExternalURL {
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

func allUserIDs(ctx context.Context, st store.Store) ([]string, error) {
	users, _, err := st.ListUsers(ctx, store.Query{})
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	return ids, nil
}

func markDirtyChunked(ctx context.Context, st store.Store, ids []string) error {
	const chunk = 500
	for len(ids) > 0 {
		n := min(chunk, len(ids))
		if err := st.MarkDirty(ctx, ids[:n]...); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}
