package gainsight

import (
	"errors"
	"fmt"
	"strings"
)

// Reasons are the closed set of values Error.Reason returns; they are used
// as metric labels, so nothing else may appear there.
const (
	ReasonRateLimited = "rate_limited"
	ReasonServerError = "server_error"
	ReasonNetwork     = "network"
	ReasonTimeout     = "timeout"
	ReasonValidation  = "validation"
	ReasonDuplicate   = "duplicate"
	ReasonAuth        = "auth"
	ReasonNotFound    = "not_found"
	ReasonOther       = "other"
)

// Reasons returns the closed set of values Error.Reason can return, for
// callers that pre-initialise metric labels.
func Reasons() []string {
	return []string{
		ReasonRateLimited, ReasonServerError, ReasonNetwork, ReasonTimeout,
		ReasonValidation, ReasonDuplicate, ReasonAuth, ReasonNotFound, ReasonOther,
	}
}

// Gainsight error codes the client classifies.
const (
	CodeUnexpected     = "GU_1101"
	CodeTooManyReqs    = "GU_2400"
	CodeBulkCreate     = "GU_2401"
	CodeBulkUpdate     = "GU_2402"
	CodeLookup         = "GU_2403"
	CodeKeyUnsupported = "GU_2409"
	CodeSelfManager    = "GU_2410"
	CodeDuplicate      = "GU_2411"
	CodeUnauthorized   = "GS_APIG_2401"
	CodeIPNotAllowed   = "GS_APIG_2402"
)

// Error is a failed Gainsight call, or one failed record of a batch call.
type Error struct {
	Status    int    // HTTP status; 0 when no response arrived
	Code      string // Gainsight error code (GU_2411, GS_APIG_2401, ...), when given
	Message   string // Gainsight's message (errorDesc, message or the record's errorMessage)
	RequestID string // Gainsight's requestId, when given
	Op        string // operation: create, update, status, list, v1_get, ...
	Err       error  // underlying transport error, when no response arrived

	reason string
	unsent bool // the request never left: a connection could not be made
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("gainsight ")
	b.WriteString(e.Op)
	if e.Status != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.Status)
	}
	if e.Code != "" {
		b.WriteString(" ")
		b.WriteString(e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (request %s)", e.RequestID)
	}
	return b.String()
}

// Unwrap returns the underlying transport error, if any.
func (e *Error) Unwrap() error { return e.Err }

// Reason is the error's class, one of the Reason* constants.
func (e *Error) Reason() string {
	if e.reason == "" {
		e.reason = classify(e.Status, e.Code, e.Message, e.Err)
	}
	return e.reason
}

// Retryable reports whether the same request may succeed later unchanged:
// rate limiting (429, GU_2400), server errors (5xx), network errors and
// timeouts.
func (e *Error) Retryable() bool {
	switch e.Reason() {
	case ReasonRateLimited, ReasonServerError, ReasonNetwork, ReasonTimeout:
		return true
	}
	return false
}

// Permanent reports whether sending the same request again cannot succeed:
// validation errors, duplicates, authentication/authorisation failures and
// unknown users. An error of reason "other" is neither retryable nor
// permanent.
func (e *Error) Permanent() bool {
	switch e.Reason() {
	case ReasonValidation, ReasonDuplicate, ReasonAuth, ReasonNotFound:
		return true
	}
	return false
}

// mayRepeat reports whether a call that is not idempotent may be sent again
// after this error: only when Gainsight cannot have acted on it.
func (e *Error) mayRepeat() bool {
	return e.unsent || e.Reason() == ReasonRateLimited
}

// IsRetryable reports whether err is, or wraps, a retryable *Error.
func IsRetryable(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Retryable()
}

// ReasonOf returns the Reason of the *Error err wraps, ReasonTimeout for a
// context deadline, and ReasonOther otherwise.
func ReasonOf(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Reason()
	case errors.Is(err, errTimeout):
		return ReasonTimeout
	}
	return ReasonOther
}

// errTimeout marks a call that exceeded Options.Timeout.
var errTimeout = errors.New("call timed out")

// classify maps what is known of a failure to a reason.
func classify(status int, code, msg string, transport error) string {
	switch code {
	case CodeTooManyReqs:
		return ReasonRateLimited
	case CodeUnauthorized, CodeIPNotAllowed:
		return ReasonAuth
	case CodeDuplicate:
		return ReasonDuplicate
	case CodeUnexpected:
		return ReasonServerError
	}
	switch {
	case status == 0 && transport != nil:
		if isTimeout(transport) {
			return ReasonTimeout
		}
		return ReasonNetwork
	case status == 429:
		return ReasonRateLimited
	case status == 401 || status == 403:
		return ReasonAuth
	case status == 408 || status == 504:
		return ReasonTimeout
	case status >= 500:
		return ReasonServerError
	case status == 404:
		return ReasonNotFound
	case status == 409:
		return ReasonDuplicate
	}
	if r := classifyMessage(msg); r != "" {
		return r
	}
	if status >= 400 && status < 500 || code != "" {
		return ReasonValidation
	}
	return ReasonOther
}

// classifyMessage recognises per-record failures by their message, since
// Gainsight gives records no codes of their own.
func classifyMessage(msg string) string {
	m := strings.ToLower(msg)
	switch {
	case m == "":
		return ""
	case strings.Contains(m, "duplicate") || strings.Contains(m, "already exist") || strings.Contains(m, "gu_2411"):
		return ReasonDuplicate
	case strings.Contains(m, "not found") ||
		strings.Contains(m, "no user") || strings.Contains(m, "unknown gsid") || strings.Contains(m, "invalid gsid"):
		return ReasonNotFound
	}
	return ""
}

func isTimeout(err error) bool {
	if errors.Is(err, errTimeout) {
		return true
	}
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// recordError builds the error of one record of a batch call. A record the
// batch rejected without a recognisable class is a problem with the record
// (validation).
func recordError(op, code, msg, requestID string) *Error {
	e := &Error{Op: op, Code: code, Message: msg, RequestID: requestID}
	e.reason = classify(0, code, msg, nil)
	if e.reason == ReasonOther {
		e.reason = ReasonValidation
	}
	return e
}
