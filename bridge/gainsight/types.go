package gainsight

import (
	"context"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight/record"
)

// Record is a Gainsight user record (see package record, which holds the
// type so that the pure mapping does not import the client).
type Record = record.Record

// Result is the outcome of one record (or one GSID) of a batch call, at the
// same index as the input. Err is nil on success; otherwise it is an *Error.
type Result struct {
	GSID   string
	Record Record // the record as Gainsight returned it, when it did
	Err    error
	// RequestID is Gainsight's requestId of the call, when it gave one
	// (an *Error carries its own).
	RequestID string
}

// Condition is one `where` condition of a list call: Name Operator Values.
// Operator is "EQ" (any of Values) or "NE".
type Condition struct {
	Name     string
	Operator string
	Values   []string
}

// Client is what the bridge needs of Gainsight. Batch methods take at most
// MaxBatch items; each returns one Result per item in input order when the
// call was made, or a non-nil error (an *Error, or the context's) when the
// call as a whole failed after the retries the budget and context allowed.
// Every method spends rate budget and may block waiting for it.
type Client interface {
	// Create creates users (records without Gsid). Not idempotent: a
	// caller that lost the response must look the users up before retrying.
	Create(ctx context.Context, records []Record) ([]Result, error)
	// Update changes users keyed by their Gsid, sending only the fields
	// present; permissionBundles, when present, overwrite. Idempotent.
	Update(ctx context.Context, records []Record) ([]Result, error)
	// SetStatus activates or deactivates users by GSID. Idempotent.
	SetStatus(ctx context.Context, gsids []string, active bool) ([]Result, error)
	// Find returns all users matching any of the conditions (OR), following
	// pages. Read-only.
	Find(ctx context.Context, conds []Condition) ([]Record, error)
}

// MaxBatch is the most records Gainsight accepts in one batch call.
const MaxBatch = 50
