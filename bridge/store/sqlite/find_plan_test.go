package sqlite

// findPlans are the expected plans of sqlstore.FindPlannedQueries, checked
// by TestQueryPlans. A page of the users of a group, a sync state or a
// GSID sorts only those users.
var findPlans = map[string]struct {
	index   string
	ordered bool
}{
	"count users active":              {index: "users_active"},
	"users active":                    {index: "users_active", ordered: true},
	"count users inactive":            {index: "users_active"},
	"users inactive":                  {index: "users_active", ordered: true},
	"count users in group":            {index: "group_members PRIMARY KEY"},
	"users in group":                  {index: "group_members PRIMARY KEY"},
	"count users in group named":      {index: "sqlite_autoindex_scim_groups_2"},
	"users in group named":            {index: "sqlite_autoindex_scim_groups_2"},
	"count users failed":              {index: "sync_info_tombstone_state"},
	"users failed":                    {index: "sync_info_tombstone_state"},
	"count users pending":             {index: "sync_info_tombstone_state"},
	"users pending":                   {index: "sync_info_tombstone_state"},
	"count users GSID":                {index: "sync_info_gsid"},
	"users GSID":                      {index: "sync_info_gsid"},
	"count users userName and active": {index: "sqlite_autoindex_users_2"},
	"users userName and active":       {index: "sqlite_autoindex_users_2"},
	"count groups with member":        {index: "group_members_user"},
	"groups with member":              {index: "group_members_user"},
	"sync info of users":              {index: "sqlite_autoindex_sync_info_2"},
	// The gauges count the whole dirty set and every live user: from an
	// index alone, never the tables.
	"dirty stats":       {index: "dirty_since", ordered: true},
	"count sync states": {index: "sync_info_tombstone_state", ordered: true},
}

// viewPlans are the expected plans of the user views of
// sqlstore.FindPlannedQueries: the users of the page through index (a
// scan of the table in creation order, stopped by LIMIT, only for the
// first page of all users), then each user's link and groups by index. A
// deep page skips the users before it in an index, not the table.
var viewPlans = map[string]struct {
	index     string
	scanUsers bool
}{
	"user views by userName":                    {index: "sqlite_autoindex_users_2"},
	"user views of a page":                      {index: "sqlite_autoindex_sync_info_2", scanUsers: true},
	"user views of a deep page":                 {index: "users_seq"},
	"user views of a deep page of active users": {index: "users_active"},
}
