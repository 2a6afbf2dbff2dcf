package plantest

import (
	"context"
	"database/sql"
	"fmt"
)

// Users is how many users Seed writes; a tenth manage another user, a third
// have no externalId, each is in one of 1000 groups, every fiftieth is a
// tombstone, every fifth is dirty (of every priority), and each has a snapshot key
// and two audit entries.
const Users = 5000

// Seed writes the rows and refreshes the planner's statistics. The
// statements run unchanged on SQLite and PostgreSQL.
func Seed(ctx context.Context, db *sql.DB) error {
	n := fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d) `, Users)
	stmts := []string{
		n + `INSERT INTO users (id, user_name, user_name_lower, external_id, emails, manager_id, active, source, doc, version, created, modified)
SELECT 'u-' || i, 'User-' || i || '@example.com', 'user-' || i || '@example.com',
CASE WHEN i % 3 = 0 THEN '' ELSE 'ext-' || i END, '[]',
CASE WHEN i % 10 = 0 THEN 'u-' || (i / 10) ELSE '' END, TRUE, 'scim', '{}', 1, i, i FROM n`,
		`INSERT INTO user_emails (user_id, email_lower) SELECT id, user_name_lower FROM users`,
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
INSERT INTO scim_groups (id, display_name, display_name_lower, external_id, source, doc, version, created, modified)
SELECT 'g-' || i, 'Group ' || i, 'group ' || i, CASE WHEN i % 2 = 0 THEN '' ELSE 'gext-' || i END, 'scim', '{}', 1, i, i FROM n`,
		`INSERT INTO group_members (group_id, user_id) SELECT 'g-' || (seq % 1000 + 1), id FROM users`,
		`INSERT INTO sync_info (link_id, user_id, user_name, user_name_lower, gsid, record, active, unknown, state, last_error, tombstone, version, updated)
SELECT 'l-' || seq, id, user_name, user_name_lower, 'gs-' || seq, 'null', TRUE, FALSE, 'synced', '', seq % 50 = 0, 1, seq FROM users`,
		`INSERT INTO dirty (user_id, generation, attempts, since, due, lease_owner, lease_until, priority, next_priority, raised)
SELECT id, 1, 0, seq, seq, '', 0, seq % 4 + 1, 0, seq FROM users WHERE seq % 5 = 0`,
		`INSERT INTO snapshot_keys (key_hash, gsid, active) SELECT 'h-' || seq, 'gs-' || seq, TRUE FROM users`,
		// Two audit entries per user, a day apart.
		`INSERT INTO audit (at, user_id, user_name, user_name_lower, op, source, actor, replica, request_id, gsid, result, error, detail, changes)
SELECT seq + k * 86400000000000, id, user_name, user_name_lower, 'update', 'sync', '', '', '', '', 'ok', '', '', '[]'
FROM users, (SELECT 0 AS k UNION ALL SELECT 1) ks`,
		`ANALYZE`,
	}
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("plantest: seed: %w", err)
		}
	}
	return nil
}
