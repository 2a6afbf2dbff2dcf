package demo

import "github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight/gainsighttest"

// Tenant is the demo's Gainsight tenant, empty: its permission bundles,
// its custom fields and Gainsight's documented rate limits.
func Tenant(accessKey string) gainsighttest.Tenant {
	return gainsighttest.Tenant{
		AccessKey:         accessKey,
		PermissionBundles: []string{"Admin", "Manager", "User"},
		CustomFields: map[string]string{
			"Region__gc":     "multiPicklist",
			"Department__gc": "string",
		},
		PerHour: 100,
		PerDay:  1000,
	}
}

// ProfilesYAML is the demo configuration's roles, custom fields (those of
// Tenant) and four group profiles, as top-level configuration keys. A
// string field must agree across a user's groups: one user in both
// department groups shows a refused group change.
const ProfilesYAML = `roles: [Admin, Manager, User]
customFields:
  - {name: Region__gc, type: multiPicklist, values: [US, EU, APAC]}
  - {name: Department__gc, type: string}
groups:
  - {name: admins, displayName: Gainsight Admins, superAdmin: true, roles: [Admin]}
  - {name: sales-us, displayName: Sales US, licenseType: Viewer, fields: {Region__gc: [US]}}
  - {name: dept-sales, displayName: Dept Sales, fields: {Department__gc: Sales}}
  - {name: dept-support, displayName: Dept Support, fields: {Department__gc: Support}}
`
