package translate

import (
	"errors"
	"fmt"
	"sort"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/resolve"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
)

// MemberConflict is a group change that would give one of the affected
// users a resolution conflict. errors.As also finds the *resolve.Conflict
// inside.
type MemberConflict struct {
	UserID   string
	Conflict *resolve.Conflict
}

func (e *MemberConflict) Error() string {
	return fmt.Sprintf("user %s: %s", e.UserID, e.Conflict.Error())
}

// Unwrap returns the conflict.
func (e *MemberConflict) Unwrap() error { return e.Conflict }

// GroupCheck returns a store.GroupCheck that rejects a group change when
// any affected user would be left with conflicting group profiles. Users
// are checked in id order, so the reported user is deterministic; the error
// is a *MemberConflict.
func (m *Mapper) GroupCheck() store.GroupCheck {
	return func(_ store.Group, affected map[string][]store.GroupRef) error {
		ids := make([]string, 0, len(affected))
		for id := range affected {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			err := m.CheckGroups(affected[id])
			if err == nil {
				continue
			}
			var c *resolve.Conflict
			if errors.As(err, &c) {
				return &MemberConflict{UserID: id, Conflict: c}
			}
			return fmt.Errorf("translate: check groups of user %s: %w", id, err)
		}
		return nil
	}
}
