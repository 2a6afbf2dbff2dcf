package sync

import (
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight"
)

// This file is the one place a pass records what each write did to a
// user: success moves the run's view of Gainsight on, a failure is sorted
// into not sent, outcome unknown, retryable or refused, and every write
// is handed to the audit trail.

// write is the outcome of one Gainsight write for one user.
type write struct {
	kind   Kind
	fields gainsight.Record // what a create or an update sent
	gsid   string           // a create's new Gsid
	result gainsight.Record // a create's answer
	err    error            // nil: applied
	call   bool             // err failed the whole call
	// requestID is Gainsight's requestId of the call that applied it.
	requestID string
}

// record applies the outcome of one write to a user's run: what Gainsight
// now holds, or why the write failed and whether it may have been applied
// all the same. Every write of the engine passes through here.
func (e *Engine) record(r *run, w write) {
	e.auditWrite(r, w)
	if w.err != nil {
		e.writeFailed(r, w)
		return
	}
	r.done = append(r.done, w.kind)
	switch w.kind {
	case KindCreate:
		r.gsid, r.record, r.active, r.known, r.linked, r.late = w.gsid, cloneRecord(w.fields), true, true, true, true
		if _, ok := w.result[fieldActive]; ok {
			r.active = activeOf(w.result)
		}
		r.unknown = false
	case KindUpdate:
		r.record = applyChanges(r.record, w.fields)
		for k, v := range w.fields {
			r.deltas[k] = v
		}
	case KindDeactivate, KindReactivate:
		r.active = w.kind == KindReactivate
		r.record = withStatus(r.record, r.active)
		r.statusSet = true
	}
}

// writeFailed classifies a failed write: not sent (rate budget, a paused
// drain), sent with an unknown outcome (no answer, a 5xx, a record
// Gainsight's answer did not mention), or refused. Retryable and unknown
// failures are retried; the rest fail the user until it changes.
func (e *Engine) writeFailed(r *run, w write) {
	err := fmt.Errorf("%s: %w", w.kind, w.err)
	if budgetOnly(w.err) {
		r.budget = true
		if w.kind == KindDeactivate {
			r.deactivateErr = w.err
		}
		return
	}
	reason := gainsight.ReasonOf(w.err)
	if !errors.Is(w.err, errNotSent) && mayHaveApplied(w.err) {
		r.unknown = true
	}
	if w.call || gainsight.IsRetryable(w.err) || reason == gainsight.ReasonOther {
		if w.kind == KindDeactivate {
			r.deactivateErr = err
		}
		r.c.retry(err)
		return
	}
	if reason == gainsight.ReasonDuplicate {
		// Gainsight's message quotes the other user's user name or email,
		// which this user's state must not show: say what happened in
		// words of our own.
		e.log.Info("gainsight refused a write as a duplicate", zap.String("user_id", r.c.UserID),
			zap.String("operation", string(w.kind)), zap.Error(maskedError(w.err)))
		err = fmt.Errorf("%s: gainsight refused it as a duplicate: another Gainsight user has this %s or Email",
			w.kind, e.opts.UserNameField)
	}
	r.c.fail(failedReason(reason), err)
}

// budgetOnly reports whether err only says that a call was never sent for
// want of rate budget.
func budgetOnly(err error) bool {
	var ge *gainsight.Error
	return errors.Is(err, gainsight.ErrBudgetWait) && !errors.As(err, &ge)
}

// mayHaveApplied reports whether a failed write may have been applied: a
// call that got no answer or a server error, or a record Gainsight's
// answer did not account for. A rejection (429, auth, an invalid call or
// record) was not applied.
func mayHaveApplied(err error) bool {
	switch gainsight.ReasonOf(err) {
	case gainsight.ReasonRateLimited, gainsight.ReasonAuth, gainsight.ReasonDuplicate,
		gainsight.ReasonNotFound, gainsight.ReasonValidation:
		return false
	}
	return true
}
