package sync

import (
	"context"
	"fmt"

	"go.uber.org/zap"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// The mass-deactivation guard's I/O: between plan and execute, the
// deactivations the plan counts (plan.go, guard) are reserved in the
// store, which keeps one count per window for every replica; those beyond
// the threshold are held there and turned into holds in the plan. A held
// user's dirty entry is completed (finish): it waits for an operator
// (store.Rollout's DecideHolds marks it dirty again) or for its identity
// source to change it.

// rollout returns the mode and guard in effect.
func (e *Engine) rollout() Rollout {
	if e.opts.Rollout == nil {
		return Rollout{}
	}
	return e.opts.Rollout()
}

// reserveDeactivations asks the guard (policy nil: off) to let counted's
// deactivations through, and holds the rest. When the guard cannot be
// asked, the deactivations are not sent and the users are retried.
func (e *Engine) reserveDeactivations(ctx context.Context, bp *batchPlan, counted []*Change, policy *store.GuardPolicy) {
	if policy == nil || len(counted) == 0 {
		return
	}
	ds := make([]store.Deactivation, len(counted))
	for i, c := range counted {
		ds[i] = store.Deactivation{UserID: c.UserID, UserName: c.sub.UserName, GSID: heldGSID(c)}
	}
	res, err := e.opts.Store.ReserveDeactivations(ctx, *policy, e.opts.Now(), ds)
	if err != nil {
		for _, c := range counted {
			c.Kinds = without(c.Kinds, KindDeactivate)
			c.retryErr, c.failErr = nil, nil
			c.retry(fmt.Errorf("ask the mass-deactivation guard: %w", err))
		}
		e.log.Warn("cannot ask the mass-deactivation guard; deactivations wait", zap.Int("users", len(counted)), zap.Error(err))
		return
	}
	granted := make(map[string]bool, len(res.Granted))
	for _, id := range res.Granted {
		granted[id] = true
	}
	reason := guardReason(*policy, res)
	held := 0
	for _, c := range counted {
		if granted[c.UserID] {
			continue
		}
		bp.hold(c, reason)
		c.newHold = true
		held++
	}
	if held > 0 {
		e.metrics.guardHolds.Add(float64(held))
		e.log.Warn("mass-deactivation guard: deactivations held until approved",
			zap.Int("held", held), zap.Int("let_through", len(counted)-held), zap.Int("counted_in_window", res.Counted),
			zap.Int("limit", res.Limit), zap.Int("active_users", res.Active), zap.Duration("window", policy.Window))
	}
}

func without(kinds []Kind, k Kind) []Kind {
	out := kinds[:0:0]
	for _, x := range kinds {
		if x != k {
			out = append(out, x)
		}
	}
	return out
}
