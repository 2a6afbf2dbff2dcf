package bridge

import (
	"context"
	"errors"
	"os"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

// The audit trail's wiring: the sync engine, the SCIM front end, the
// Google source, configuration reloads and the console hand their entries
// to audit, which masks personal data as configured and appends them to
// the store; pruneAudit keeps the trail within its retention.

// personalFields are the Gainsight fields and SCIM attributes (as
// store.UserAudit names them) that hold personal data. A field whose name
// contains "phone" counts too, as do the name field of mapping.userNameField
// and audit.personalFields.
var personalFields = map[string]bool{
	"Email": true, "FirstName": true, "LastName": true, "Name": true, "SFDCUserName": true,
	"userName": true, "emails": true, "displayName": true, "nickName": true, "name.givenName": true,
	"name.familyName": true, "name.middleName": true, "name.formatted": true, "name.honorificPrefix": true,
	"name.honorificSuffix": true, "addresses": true, "photos": true, "ims": true,
}

// personal reports whether field holds personal data under cfg.
func personal(cfg *config.Config, field string) bool {
	if personalFields[field] || strings.Contains(strings.ToLower(field), "phone") || field == cfg.Mapping.UserNameField {
		return true
	}
	for _, f := range cfg.Audit.PersonalFields {
		if strings.EqualFold(f, field) {
			return true
		}
	}
	return false
}

// maskAudit removes the values of personal fields from entries, unless
// audit.recordPersonalData is set, and names the replica.
func maskAudit(cfg *config.Config, replica string, entries []store.AuditEntry) []store.AuditEntry {
	out := make([]store.AuditEntry, len(entries))
	for i, e := range entries {
		if e.Replica == "" {
			e.Replica = replica
		}
		if len(e.Changes) > 0 {
			cs := make([]store.AuditChange, len(e.Changes))
			for j, c := range e.Changes {
				if !cfg.Audit.RecordPersonalData && personal(cfg, c.Field) {
					c = store.AuditChange{Field: c.Field, Masked: true}
				}
				cs[j] = c
			}
			e.Changes = cs
		}
		out[i] = e
	}
	return out
}

// audit appends entries to the audit trail. A failure is logged and
// counted, never returned: the audit trail does not stop provisioning.
func (b *Bridge) audit(ctx context.Context, entries []store.AuditEntry) {
	if len(entries) == 0 {
		return
	}
	entries = maskAudit(b.Config(), b.replica, entries)
	for len(entries) > 0 {
		n := min(len(entries), auditChunk)
		if err := b.opts.Store.AppendAudit(ctx, entries[:n]); err != nil {
			b.metrics.auditEntries.WithLabelValues("failed").Add(float64(len(entries)))
			b.log.Warn("cannot record audit entries", zap.Int("entries", len(entries)), zap.Error(err))
			return
		}
		b.metrics.auditEntries.WithLabelValues("written").Add(float64(n))
		entries = entries[n:]
	}
}

// auditLater hands entries to the audit trail without waiting for them to
// be written, where the store can (store.AuditQueuer): a SCIM request is
// answered once its own write is committed, not after a second commit for
// its audit entry; the entries are written in the store's next write
// transaction, a few milliseconds later, with the time they were queued.
// A crash in between loses them, as a crash between the two commits
// always could. A failure is logged and counted as audit does.
func (b *Bridge) auditLater(ctx context.Context, entries []store.AuditEntry) {
	q, ok := b.opts.Store.(store.AuditQueuer)
	if !ok {
		b.audit(ctx, entries)
		return
	}
	if len(entries) == 0 {
		return
	}
	entries = maskAudit(b.Config(), b.replica, entries)
	for len(entries) > 0 {
		chunk := entries[:min(len(entries), auditChunk)]
		entries = entries[len(chunk):]
		q.QueueAudit(chunk, func(err error) {
			if err != nil {
				b.metrics.auditEntries.WithLabelValues("failed").Add(float64(len(chunk)))
				b.log.Warn("cannot record audit entries", zap.Int("entries", len(chunk)), zap.Error(err))
				return
			}
			b.metrics.auditEntries.WithLabelValues("written").Add(float64(len(chunk)))
		})
	}
}

// auditChunk bounds the entries appended in one transaction, so a group
// change of many members does not hold the writer long.
const auditChunk = 500

// auditPruneBatch is how many entries one prune transaction removes at
// most; appends wait behind one batch at worst.
const auditPruneBatch = 1000

// pruneAudit removes the entries past audit.retention or audit.maxRows in
// batches, and returns how many it removed.
func (b *Bridge) pruneAudit(ctx context.Context, now time.Time) (int, error) {
	a := b.Config().Audit
	var before time.Time
	if a.Retention > 0 {
		before = now.Add(-a.Retention)
	}
	total := 0
	for {
		n, err := b.opts.Store.PruneAudit(ctx, before, a.MaxRows, auditPruneBatch)
		total += n
		b.metrics.auditPruned.Add(float64(n))
		if err != nil {
			return total, err
		}
		if n < auditPruneBatch || ctx.Err() != nil {
			return total, ctx.Err()
		}
	}
}

// housekeeping prunes the audit trail once per audit.pruneInterval
// across replicas, and refreshes the drain ETA gauge.
func (b *Bridge) housekeeping(ctx context.Context) {
	t := time.NewTicker(min(etaInterval, b.Config().Audit.PruneInterval))
	defer t.Stop()
	var lastPrune time.Time
	for {
		b.refreshDrainETA(ctx)
		now := b.opts.Now()
		if every := b.Config().Audit.PruneInterval; now.Sub(lastPrune) >= every {
			lastPrune = now
			ok, err := b.opts.Store.ClaimJob(ctx, "audit-prune", every, now)
			switch {
			case err != nil:
				if ctx.Err() == nil {
					b.log.Warn("audit prune: cannot claim the job", zap.Error(err))
				}
			case ok:
				if n, err := b.pruneAudit(ctx, now); err != nil && !errors.Is(err, context.Canceled) {
					b.log.Warn("audit prune failed", zap.Int("removed", n), zap.Error(err))
				} else if n > 0 {
					b.log.Info("audit trail pruned", zap.Int("removed", n))
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// replicaName is the name this replica records in the audit trail: the
// lease owner, or the hostname.
func replicaName(owner string) string {
	if owner != "" {
		return owner
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "scim-bridge"
}

// History returns the audit trail of one user, found as Explain finds it
// (SCIM id, userName or GSID; a deleted user by its tombstone or, once that
// is gone, by the userName its entries were recorded under), newest first.
func History(ctx context.Context, st store.Store, key string, q store.AuditQuery) ([]store.AuditEntry, error) {
	key = strings.TrimSpace(key)
	if key == "" {
		return nil, store.ErrNotFound
	}
	u, err := findUser(ctx, st, key)
	switch {
	case err == nil:
		q.UserID = u.ID
	case errors.Is(err, store.ErrNotFound):
		if info, err := st.SyncByGSID(ctx, key); err == nil {
			q.UserID = info.UserID
		} else {
			q.UserName = key
		}
	default:
		return nil, err
	}
	return st.ListAudit(ctx, q)
}

// reloadDetail says what a reload from prev to next changed for the users
// it marked.
func reloadDetail(prev, next *config.Config) string {
	if config.NeedsFullResync(prev, next) {
		return "the mapping or defaults changed: every user is planned again"
	}
	var names []string
	for _, ref := range config.DiffProfiles(prev.Groups, next.Groups) {
		if ref.DisplayName != "" {
			names = append(names, ref.DisplayName)
		} else {
			names = append(names, "externalId "+ref.ExternalID)
		}
	}
	return "group profiles changed: " + strings.Join(names, ", ")
}

// auditReload records, for every user a reload marked, that the
// configuration changed what the user should get.
func (b *Bridge) auditReload(ctx context.Context, ids []string, detail string) {
	entries := make([]store.AuditEntry, len(ids))
	for i, id := range ids {
		entries[i] = store.AuditEntry{UserID: id, Op: store.AuditProfileReload, Source: store.AuditSourceConfig,
			Actor: "config reload", Result: store.AuditOK, Detail: detail}
	}
	b.audit(ctx, entries)
}
