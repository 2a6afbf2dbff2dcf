package google

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"
	"google.golang.org/api/googleapi"
)

// Read-only OAuth scopes the source needs; the service account's
// domain-wide delegation must grant all three.
const (
	ScopeUserReadonly        = "https://www.googleapis.com/auth/admin.directory.user.readonly"
	ScopeGroupReadonly       = "https://www.googleapis.com/auth/admin.directory.group.readonly"
	ScopeGroupMemberReadonly = "https://www.googleapis.com/auth/admin.directory.group.member.readonly"
)

// Scopes lists the scopes the source requests, in the order to grant them.
func Scopes() []string {
	return []string{ScopeUserReadonly, ScopeGroupReadonly, ScopeGroupMemberReadonly}
}

// Error is a failed Directory API call (or token exchange) with a bounded
// reason and, for authorisation problems, a hint saying what to fix.
type Error struct {
	Op     string // "list users", "list groups", "list members of g@example.com"
	Reason string // ReasonAuth, ReasonRateLimited, ReasonServerError, ReasonNetwork, ReasonOther
	Hint   string
	Err    error
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("google: %s: %v", e.Op, e.Err)
	if e.Hint != "" {
		msg += ": " + e.Hint
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether the call may succeed when repeated later.
func (e *Error) Retryable() bool {
	return e.Reason == ReasonRateLimited || e.Reason == ReasonServerError || e.Reason == ReasonNetwork
}

// ReasonOf returns the bounded reason of an error of the source.
func ReasonOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ReasonOther
}

// callInfo describes a Directory API call for error messages.
type callInfo struct {
	op       string
	scope    string // the scope the call needs
	subject  string
	clientID string
}

// classify turns an error of a call into an *Error.
func classify(err error, c callInfo) *Error {
	e := &Error{Op: c.op, Reason: ReasonOther, Err: err}
	var rerr *oauth2.RetrieveError
	var gerr *googleapi.Error
	var nerr net.Error
	switch {
	case errors.As(err, &rerr):
		e.Reason = ReasonAuth
		e.Hint = tokenHint(rerr, c)
		if rerr.Response != nil && (rerr.Response.StatusCode == http.StatusTooManyRequests || rerr.Response.StatusCode >= 500) {
			e.Reason, e.Hint = reasonForStatus(rerr.Response.StatusCode), ""
		}
	case errors.As(err, &gerr):
		e.Reason = reasonForAPIError(gerr)
		if e.Reason == ReasonAuth {
			e.Hint = apiAuthHint(gerr, c)
		}
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		e.Reason = ReasonNetwork
	case errors.As(err, &nerr):
		e.Reason = ReasonNetwork
	default:
		var uerr *url.Error
		if errors.As(err, &uerr) {
			e.Reason = ReasonNetwork
		}
	}
	return e
}

func reasonForStatus(code int) string {
	switch {
	case code == http.StatusTooManyRequests:
		return ReasonRateLimited
	case code >= 500:
		return ReasonServerError
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return ReasonAuth
	}
	return ReasonOther
}

func reasonForAPIError(gerr *googleapi.Error) string {
	for _, item := range gerr.Errors {
		switch item.Reason {
		case "rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded", "dailyLimitExceeded":
			return ReasonRateLimited
		}
	}
	return reasonForStatus(gerr.Code)
}

func apiAuthHint(gerr *googleapi.Error, c callInfo) string {
	insufficient := strings.Contains(strings.ToLower(gerr.Message), "insufficient authentication scopes")
	for _, item := range gerr.Errors {
		if item.Reason == "insufficientPermissions" || item.Reason == "ACCESS_TOKEN_SCOPE_INSUFFICIENT" {
			insufficient = true
		}
	}
	switch {
	case insufficient:
		return fmt.Sprintf("the access token lacks the scope %s: add it to the service account's domain-wide delegation (Admin console > Security > Access and data control > API controls > Domain-wide delegation, for %s)", c.scope, clientIDNote(c))
	case gerr.Code == http.StatusUnauthorized:
		return "Google rejected the credentials: check that the service account key is valid and not revoked"
	}
	return fmt.Sprintf("Google refused access for %s: the subject must be a Workspace admin allowed to read users and groups, and the service account's domain-wide delegation must grant %s (Admin console > Security > Access and data control > API controls > Domain-wide delegation, for %s)", nonEmpty(c.subject, "the impersonated user"), c.scope, clientIDNote(c))
}

func tokenHint(rerr *oauth2.RetrieveError, c callInfo) string {
	code := rerr.ErrorCode
	if code == "" {
		// Older token endpoints only put the code in the body.
		for _, k := range []string{"unauthorized_client", "access_denied", "invalid_grant", "invalid_client"} {
			if strings.Contains(string(rerr.Body), k) {
				code = k
				break
			}
		}
	}
	switch code {
	case "unauthorized_client", "access_denied":
		return fmt.Sprintf("domain-wide delegation is missing or incomplete (%s): in the Admin console under Security > Access and data control > API controls > Domain-wide delegation, authorise %s for the scopes %s", code, clientIDNote(c), strings.Join(Scopes(), ","))
	case "invalid_grant":
		return fmt.Sprintf("Google refused to impersonate %s (invalid_grant): the subject must be an existing user of the domain, and the service account key must be valid", nonEmpty(c.subject, "the subject"))
	case "invalid_client":
		return "Google does not recognise the service account (invalid_client): check the credentials file"
	}
	return "the token exchange for the service account failed"
}

func clientIDNote(c callInfo) string {
	if c.clientID == "" {
		return "the service account's client ID"
	}
	return "client ID " + c.clientID
}

func nonEmpty(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}
