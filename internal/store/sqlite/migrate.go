package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/nhs-junction/junction/internal/store/storesql"
)

// migrations[i] brings the schema from version i to version i+1. A
// migration is never edited once released: a change is a new entry.
// The PostgreSQL backend keeps the same numbering and the same tables.
var migrations = [][]string{
	// 1: immutable versions and the current-version pointer.
	{
		// Every version ever written, tombstones included. seq is the rowid
		// alias, so the table is stored in seq order and a body is fetched
		// by one b-tree lookup. The body is the only copy of the JSON in
		// the database; everything else points at it by seq.
		`CREATE TABLE resource_version (
			seq          INTEGER PRIMARY KEY,
			type         TEXT    NOT NULL,
			id           TEXT    NOT NULL,
			version      INTEGER NOT NULL,
			last_updated INTEGER NOT NULL, -- microseconds since the epoch, UTC
			deleted      INTEGER NOT NULL,
			body         BLOB              -- NULL for a tombstone
		) STRICT`,
		// vread and instance history; also the uniqueness that stops two
		// writers storing the same version.
		`CREATE UNIQUE INDEX resource_version_key ON resource_version (type, id, version)`,
		// Type history, newest first, paged by seq.
		`CREATE INDEX resource_version_type ON resource_version (type, seq)`,
		// _since and _at on system history, and the clock floor.
		`CREATE INDEX resource_version_time ON resource_version (last_updated)`,
		// The current version of each resource: read is one lookup here and
		// one by seq above. WITHOUT ROWID stores the row in the primary key
		// b-tree instead of beside it, saving an index.
		`CREATE TABLE resource (
			type    TEXT    NOT NULL,
			id      TEXT    NOT NULL,
			version INTEGER NOT NULL,
			seq     INTEGER NOT NULL,
			deleted INTEGER NOT NULL,
			PRIMARY KEY (type, id)
		) STRICT, WITHOUT ROWID`,
	},
	// 2: the search index tables, shared with the other backend.
	storesql.SearchSchema(storesql.SQLite),
	// 3: token rows of one code in seq order, for paging.
	storesql.SearchSeqOrder(),
	// 4: the indexer version of the stored index rows.
	storesql.SearchMeta(),
	// 5: what the access decision reads (internal/access).
	storesql.AccessSchema(storesql.SQLite),
	// 6: the HL7 v2 message store (internal/feed).
	storesql.HL7Schema(storesql.SQLite),
	// 7: users, clients, keys and grants of the built-in OAuth 2.0
	// authorisation server (package authn).
	storesql.AuthSchema(storesql.SQLite),
	// 8: the transparency log of AuditEvents (internal/audit).
	storesql.AuditSchema(storesql.SQLite),
	// 9: the versions a create with a server-assigned id wrote.
	storesql.HistoryCreated(),
	// 10: break-glass grants (internal/access).
	storesql.BreakGlassSchema(storesql.SQLite),
	// 11: bytewise type and id keys on PostgreSQL (nothing on SQLite).
	storesql.BytewiseKeys(storesql.SQLite),
}

// migrate applies the pending migrations, each in its own BEGIN IMMEDIATE
// transaction together with its schema_migration row, so a crash leaves
// the schema at a whole version. Checking the version inside the same
// transaction makes it safe for two processes to migrate at once: the
// second finds the row the first committed and skips it.
func migrate(ctx context.Context, db *sql.DB) error {
	for i, steps := range migrations {
		version := i + 1
		if err := migrateOne(ctx, db, version, steps); err != nil {
			return fmt.Errorf("store/sqlite: migration %d: %w", version, err)
		}
	}
	return nil
}

func migrateOne(ctx context.Context, db *sql.DB, version int, steps []string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migration (
		version    INTEGER PRIMARY KEY,
		applied_at INTEGER NOT NULL -- microseconds since the epoch, UTC
	) STRICT`); err != nil {
		return err
	}
	var newest int
	if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM schema_migration").Scan(&newest); err != nil {
		return err
	}
	if newest > len(migrations) {
		// A newer binary has migrated this file; this one would not know
		// how to keep the newer tables (search indexes) up to date.
		return fmt.Errorf("database schema is at version %d, newer than this binary's %d", newest, len(migrations))
	}
	if newest >= version {
		return nil
	}
	for _, step := range steps {
		if _, err := tx.ExecContext(ctx, step); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migration (version, applied_at) VALUES (?, ?)",
		version, time.Now().UnixMicro()); err != nil {
		return err
	}
	return tx.Commit()
}
