package postgres

// findPlans are the expected plans of sqlstore.FindPlannedQueries, checked
// by TestQueryPlans. A page of the users of a group, a sync state or a
// GSID sorts only those users; the seeded users are all active, so a page
// of active users is the creation-order scan stopped by LIMIT.
var findPlans = map[string]struct {
	index   string
	ordered bool
}{
	"count users active":                        {index: "users_active"},
	"users active":                              {index: "users_pkey", ordered: true},
	"count users inactive":                      {index: "users_active"},
	"users inactive":                            {index: "users_active", ordered: true},
	"count users in group":                      {index: "group_members_pkey"},
	"users in group":                            {index: "group_members_pkey"},
	"count users in group named":                {index: "scim_groups_display_name_lower_key"},
	"users in group named":                      {index: "scim_groups_display_name_lower_key"},
	"count users failed":                        {index: "sync_info_tombstone_state"},
	"users failed":                              {index: "sync_info_tombstone_state"},
	"count users pending":                       {index: "sync_info_tombstone_state"},
	"users pending":                             {index: "sync_info_tombstone_state"},
	"count users GSID":                          {index: "sync_info_gsid"},
	"users GSID":                                {index: "sync_info_gsid"},
	"count users userName and active":           {index: "users_user_name_lower_key"},
	"users userName and active":                 {index: "users_user_name_lower_key"},
	"user views by userName":                    {index: "users_user_name_lower_key"},
	"user views of a page":                      {index: "users_pkey", ordered: true},
	"user views of a deep page":                 {index: "users_pkey", ordered: true},
	"user views of a deep page of active users": {index: "users_active", ordered: true},
	"count groups with member":                  {index: "group_members_user"},
	"groups with member":                        {index: "group_members_user"},
	"sync info of users":                        {index: "sync_info_user_id"},
	// The gauges count the whole dirty set and every live user: from an
	// index alone, never the tables.
	"dirty stats":       {index: "dirty_since", ordered: true},
	"count sync states": {index: "sync_info_tombstone_state", ordered: true},
}
