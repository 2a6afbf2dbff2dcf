package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
)

// Migration is one versioned schema step.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// LoadMigrations reads the files NNNN_name.sql at the root of fsys, ordered
// by version.
func LoadMigrations(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []Migration
	seen := map[int]string{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %q: name must be NNNN_description.sql", name)
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %q and %q share version %d", other, name, v)
		}
		seen[v] = name
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read migration %q: %w", name, err)
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// MigrateDir loads the migrations in dir of files and applies them on one
// connection of db. lock, when not nil, is taken on that connection first
// and released after (PostgreSQL's advisory lock, so that replicas starting
// together migrate one after the other).
func MigrateDir(ctx context.Context, db *sql.DB, files fs.FS, dir string, now func() time.Time, log *zap.Logger,
	lock func(ctx context.Context, conn *sql.Conn) (release func(), err error)) error {
	sub, err := fs.Sub(files, dir)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	ms, err := LoadMigrations(sub)
	if err != nil {
		return err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	if lock != nil {
		release, err := lock(ctx, conn)
		if err != nil {
			return err
		}
		defer release()
	}
	return Migrate(ctx, conn, ms, now, log)
}

// Migrate applies the migrations not yet recorded in schema_migrations, each
// in its own transaction on conn. The caller serialises concurrent
// migrators (a lock, or a single writer).
func Migrate(ctx context.Context, conn *sql.Conn, migrations []Migration, now func() time.Time, log *zap.Logger) error {
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
version BIGINT PRIMARY KEY,
name TEXT NOT NULL,
applied BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for _, m := range migrations {
		if err := migrateOne(ctx, conn, m, now, log); err != nil {
			return err
		}
	}
	return nil
}

func migrateOne(ctx context.Context, conn *sql.Conn, m Migration, now func() time.Time, log *zap.Logger) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migration %s: begin: %w", m.Name, err)
	}
	defer func() { _ = tx.Rollback() }()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = $1`, m.Version).Scan(&n); err != nil {
		return fmt.Errorf("migration %s: %w", m.Name, err)
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return fmt.Errorf("migration %s: %w", m.Name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied) VALUES ($1, $2, $3)`,
		m.Version, m.Name, now().UnixNano()); err != nil {
		return fmt.Errorf("migration %s: record: %w", m.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migration %s: commit: %w", m.Name, err)
	}
	log.Info("applied schema migration", zap.Int("version", m.Version), zap.String("name", m.Name))
	return nil
}
