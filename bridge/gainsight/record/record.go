package record

// Record is a Gainsight user record in the services dialect's field names:
// Gsid, FirstName, LastName, Name, Email, SFDCUserName, SfdcUserId, Title,
// Timezone, Locale, Manager, LicenseType, SystemType, IsActiveUser,
// permissionBundles ([]string) and custom fields ending in "__gc".
type Record map[string]any

// GSID returns the record's Gsid, or "".
func (r Record) GSID() string {
	s, _ := r["Gsid"].(string)
	return s
}

// Clone returns a shallow copy of r (nil for nil).
func (r Record) Clone() Record {
	if r == nil {
		return nil
	}
	out := make(Record, len(r))
	for k, v := range r {
		out[k] = v
	}
	return out
}
