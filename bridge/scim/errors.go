package scim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/google/uuid"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// newUUID mints resource ids: UUIDs of version 7, time-ordered, so the
// store appends new users to its indexes rather than writing random pages
// of them.
func newUUID() string { return uuid.Must(uuid.NewV7()).String() }

func scimError(status int, typ scimerrors.ScimType, detail string) scimerrors.ScimError {
	return scimerrors.ScimError{Status: status, ScimType: typ, Detail: detail}
}

func errInvalidValue(format string, args ...any) scimerrors.ScimError {
	return scimError(http.StatusBadRequest, scimerrors.ScimTypeInvalidValue, fmt.Sprintf(format, args...))
}

func errInternal(what string) scimerrors.ScimError {
	return scimError(http.StatusInternalServerError, "", "Internal error: "+what+".")
}

func errNotFound(kind, id string) scimerrors.ScimError {
	return scimError(http.StatusNotFound, "", fmt.Sprintf("%s %s not found.", kind, id))
}

var errPrecondition = scimError(http.StatusPreconditionFailed, "", "The resource version does not match If-Match.")

// writeError writes a SCIM error response.
func writeError(w http.ResponseWriter, e scimerrors.ScimError) {
	raw, err := json.Marshal(e)
	if err != nil {
		raw = []byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"500"}`)
		e.Status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(e.Status)
	_, _ = w.Write(raw)
}

// conflictError is a resolution conflict found for one user by a GroupCheck.
type conflictError struct {
	userID string
	err    error
}

func (e *conflictError) Error() string { return fmt.Sprintf("user %s: %v", e.userID, e.err) }
func (e *conflictError) Unwrap() error { return e.err }

// validationMessage flattens a Validator error (possibly joined) into one
// line for a SCIM detail.
func validationMessage(err error) string {
	var parts []string
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, c := range j.Unwrap() {
				walk(c)
			}
			return
		}
		parts = append(parts, describeFieldError(e))
	}
	walk(err)
	return strings.Join(parts, "; ")
}

// describeFieldError names the attribute of a field error when the error
// exposes it, and otherwise uses its message.
func describeFieldError(err error) string {
	var named interface{ SCIMAttribute() string }
	if errors.As(err, &named) {
		msg := err.Error()
		if attr := named.SCIMAttribute(); attr != "" && !strings.Contains(msg, attr) {
			return attr + ": " + msg
		}
		return msg
	}
	return err.Error()
}

// storeError maps a store error to a SCIM error for kind/id.
func storeError(err error, kind, id string) error {
	var se scimerrors.ScimError
	switch {
	case errors.As(err, &se):
		return se
	case errors.Is(err, store.ErrNotFound):
		return errNotFound(kind, id)
	case errors.Is(err, store.ErrInvalid):
		return errInvalidValue("A value of this %s cannot be stored (it holds a NUL character).", strings.ToLower(kind))
	case errors.Is(err, store.ErrConflict):
		if kind == "Group" {
			return scimError(http.StatusConflict, scimerrors.ScimTypeUniqueness, "A group with this displayName already exists.")
		}
		return scimError(http.StatusConflict, scimerrors.ScimTypeUniqueness, "A user with this userName already exists.")
	default:
		return fmt.Errorf("scim: %s %s: %w", strings.ToLower(kind), id, err)
	}
}

// scimOwned reports whether SCIM may modify a resource of source: only what
// SCIM itself created (an empty source is SCIM's).
func scimOwned(source string) bool { return source == "" || source == store.SourceSCIM }

// errOwnedBy refuses a SCIM write to a resource another source owns.
func errOwnedBy(kind, id, source string) scimerrors.ScimError {
	return scimError(http.StatusConflict, scimerrors.ScimTypeMutability,
		fmt.Sprintf("%s %s is owned by the %s source; change it there, not over SCIM.", kind, id, source))
}

// errNameOwnedBy refuses a SCIM create whose unique name belongs to a
// resource another source owns.
func errNameOwnedBy(kind, attr, name, id, source string) scimerrors.ScimError {
	return scimError(http.StatusConflict, scimerrors.ScimTypeUniqueness,
		fmt.Sprintf("A %s with this %s (%q) already exists and is owned by the %s source (%s %s).", strings.ToLower(kind), attr, name, source, kind, id))
}

// writable refuses a SCIM write to a resource another source owns (409
// mutability) or whose meta.version the request's If-Match header does not
// admit (412).
func writable(kind, id, source string, version int64, ifMatchHeader string) error {
	if !scimOwned(source) {
		return errOwnedBy(kind, id, source)
	}
	if !ifMatch(ifMatchHeader, version) {
		return errPrecondition
	}
	return nil
}

// maxIndexedBytes bounds the strings the store indexes (userName,
// externalId, emails, manager, displayName): PostgreSQL refuses an index
// entry over about 2.7 kB and fails the whole write, and no identity
// provider sends values anywhere near this long.
const maxIndexedBytes = store.MaxIndexedBytes

// checkIndexed refuses, naming attr, a value the store could not index.
func checkIndexed(attr, v string) error {
	if strings.IndexByte(v, 0) >= 0 {
		return errInvalidValue("%s must not contain a NUL character.", attr)
	}
	if len(v) > maxIndexedBytes {
		return errInvalidValue("%s is %d bytes long; at most %d are accepted.", attr, len(v), maxIndexedBytes)
	}
	return nil
}
