package sync

import (
	"strings"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight"
)

// Gainsight record fields the engine treats specially.
const (
	fieldGsid       = "Gsid"
	fieldManager    = "Manager"
	fieldEmail      = "Email"
	fieldLicense    = "LicenseType"
	fieldActive     = "IsActiveUser"
	fieldSuperAdmin = "IsSuperAdmin"
)

// Gainsight's rules about status and license live here and nowhere else:
//
//   - Deactivating a user drops its license, and an inactive user holds
//     none: nothing sends a license to a user that is or will be inactive.
//   - Reactivating a user does not give the license back, so the update
//     after a reactivation sends it again. (A super admin's license is
//     Full: group resolution applies that rule, so the license the update
//     sends is right whether or not Gainsight restored it.)
//   - Status goes through the status endpoint, never in an update;
//     IsSuperAdmin cannot be written at all; Manager is a GSID the engine
//     fills in.

// withStatus returns the record Gainsight holds once the user whose record
// was rec has status active.
func withStatus(rec gainsight.Record, active bool) gainsight.Record {
	out := cloneRecord(rec)
	if !active {
		delete(out, fieldLicense)
	}
	return out
}

// sendable returns the fields of desired Gainsight accepts for a user that
// will have status active.
func sendable(desired gainsight.Record, active bool) gainsight.Record {
	return withStatus(desired, active)
}

// managedFields returns the fields of a planned record the engine writes:
// without Gsid, status and super admin, and without Manager (the engine
// resolves the manager's GSID itself).
func managedFields(planned gainsight.Record) gainsight.Record {
	out := gainsight.Record{}
	for k, v := range planned {
		switch k {
		case fieldGsid, fieldActive, fieldSuperAdmin, fieldManager:
			continue
		}
		if v != nil {
			out[k] = v
		}
	}
	return out
}

// confirmedOf returns what a record Gainsight returned confirms: the
// fields the bridge manages (those of desired, and Manager) and the
// status.
func confirmedOf(rec, desired gainsight.Record) (gainsight.Record, bool) {
	active := activeOf(rec)
	return withStatus(restrict(rec, desired), active), active
}

// activeOf reads IsActiveUser from a found record; absent means active.
func activeOf(rec gainsight.Record) bool {
	switch v := rec[fieldActive].(type) {
	case bool:
		return v
	case string:
		return !strings.EqualFold(v, "false")
	}
	return true
}
