package translate

import (
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight/record"
)

// Plan is what a user should look like in Gainsight.
type Plan struct {
	// Record holds every managed field the user should have, in Gainsight
	// field names, without Gsid and without Manager (see ManagerID).
	Record record.Record
	// Active is the status the user should have.
	Active bool
	// ManagerID is the SCIM id of the user's manager, "" if none. The sync
	// engine turns it into the manager's GSID once the manager is linked.
	ManagerID string
	// SuperAdmin is resolved and reported but never pushed: the REST API
	// cannot set it.
	SuperAdmin bool
	// Sources maps each resolved attribute (LicenseType, permissionBundles,
	// custom field names, SuperAdmin) to the display names of the groups
	// that produced it; absent when it came from the user or defaults.
	Sources map[string][]string
}
