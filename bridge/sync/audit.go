package sync

import (
	"context"
	"errors"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// The engine's part of the audit trail: one entry per Gainsight write per
// user (and per adoption), with its outcome, taken where the executor
// records each write (record, claimLink) and handed to Options.Audit once
// per batch. Calls never sent (no rate budget, a paused drain) are not
// writes and are not recorded.

var auditOps = map[Kind]store.AuditOp{
	KindCreate:     store.AuditCreate,
	KindUpdate:     store.AuditUpdate,
	KindDeactivate: store.AuditDeactivate,
	KindReactivate: store.AuditReactivate,
}

// auditWrite notes the outcome of one write for r's user. It runs before
// the outcome is applied to r, so r.record still holds the old values.
func (e *Engine) auditWrite(r *run, w write) {
	op, ok := auditOps[w.kind]
	if e.opts.Audit == nil || !ok {
		return
	}
	entry := e.auditEntry(r, op)
	switch {
	case w.err == nil:
		entry.Result, entry.RequestID = store.AuditOK, w.requestID
	case budgetOnly(w.err), errors.Is(w.err, errNotSent):
		return
	case mayHaveApplied(w.err):
		entry.Result = store.AuditUnknown
	default:
		entry.Result = store.AuditFailed
	}
	if w.err != nil {
		// The bounded reason (validation, duplicate, server_error, …) lets
		// failures be counted by kind.
		entry.Error, entry.Detail = maskEmails(w.err.Error()), gainsight.ReasonOf(w.err)
		var ge *gainsight.Error
		if errors.As(w.err, &ge) {
			entry.RequestID = ge.RequestID
		}
	}
	switch w.kind {
	case KindCreate:
		entry.GSID = w.gsid
		entry.Changes = auditChanges(nil, w.fields)
	case KindUpdate:
		entry.Changes = auditChanges(r.record, w.fields)
	case KindDeactivate, KindReactivate:
		entry.Changes = []store.AuditChange{{Field: fieldActive, Old: r.active, New: w.kind == KindReactivate}}
	}
	r.audit = append(r.audit, entry)
}

// auditHold notes that the guard held r's user's deactivation.
func (e *Engine) auditHold(r *run) {
	if e.opts.Audit == nil {
		return
	}
	entry := e.auditEntry(r, store.AuditHold)
	entry.Result, entry.Detail = store.AuditOK, r.c.Reason
	r.audit = append(r.audit, entry)
}

// auditAdopt notes that r's user was linked to the existing Gainsight user
// gsid.
func (e *Engine) auditAdopt(r *run, gsid string) {
	if e.opts.Audit == nil {
		return
	}
	entry := e.auditEntry(r, store.AuditAdopt)
	entry.GSID, entry.Result = gsid, store.AuditOK
	r.audit = append(r.audit, entry)
}

func (e *Engine) auditEntry(r *run, op store.AuditOp) store.AuditEntry {
	return store.AuditEntry{
		Time: e.opts.Now(), UserID: r.c.UserID, UserName: r.c.sub.UserName, Op: op,
		Source: store.AuditSourceSync, Actor: e.opts.Owner, Replica: e.opts.Owner, GSID: r.gsid,
	}
}

// auditChanges is what fieldChanges (plan.go) lists, as audit changes.
func auditChanges(old, sent gainsight.Record) []store.AuditChange {
	fcs := fieldChanges(old, sent)
	out := make([]store.AuditChange, len(fcs))
	for i, f := range fcs {
		out[i] = store.AuditChange{Field: f.Field, Old: f.Old, New: f.New}
	}
	return out
}

// flushAudit hands the batch's entries to Options.Audit, even when the
// pass's context ended (what was sent is a fact all the same).
func (e *Engine) flushAudit(parent context.Context, runs []*run) {
	if e.opts.Audit == nil {
		return
	}
	var entries []store.AuditEntry
	for _, r := range runs {
		entries = append(entries, r.audit...)
	}
	if len(entries) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), bookkeepingTimeout)
	defer cancel()
	e.opts.Audit(ctx, entries)
}
