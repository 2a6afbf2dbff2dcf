package scim

import (
	"context"
	"net/http"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// The SCIM front end's part of the audit trail: every successful write
// that changes what a user should be in Gainsight (created, changed,
// disabled, deleted, added to or removed from a group), with the request
// id and the name of the token that made it.

type ctxKey int

const (
	requestIDKey ctxKey = iota
	tokenNameKey
)

func withRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey, id)
}

func withTokenName(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, tokenNameKey, name)
}

// audit hands the entries of a write made by r to Options.Audit.
func (h *handler) audit(r *http.Request, entries []store.AuditEntry) {
	if len(entries) == 0 {
		return
	}
	ctx := r.Context()
	rid, _ := ctx.Value(requestIDKey).(string)
	token, _ := ctx.Value(tokenNameKey).(string)
	h.opts.Audit(context.WithoutCancel(ctx), store.AuditFrom(entries, store.AuditSourceSCIM, token, rid))
}
