package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nhs-junction/junction/internal/store/storesql"
)

// migrations[i] brings the schema from version i to version i+1, with the
// same numbering and tables as the SQLite backend. A migration is never
// edited once released: a change is a new entry.
//
// Columns are ordered fixed-width first so that rows carry no alignment
// padding: at hundreds of millions of versions every byte per row counts
// against the disk budget.
var migrations = [][]string{
	// 1: immutable versions and the current-version pointer.
	{
		// Every version ever written, tombstones included. The body is the
		// only copy of the JSON; PostgreSQL compresses bodies over about
		// 2 kB out of line (TOAST). Everything else points at it by seq.
		`CREATE TABLE resource_version (
			seq          bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
			version      bigint  NOT NULL,
			last_updated bigint  NOT NULL, -- microseconds since the epoch, UTC
			deleted      boolean NOT NULL,
			type         text    NOT NULL,
			id           text    NOT NULL,
			body         bytea             -- NULL for a tombstone
		)`,
		// vread and instance history; also the uniqueness that stops two
		// writers storing the same version.
		`CREATE UNIQUE INDEX resource_version_key ON resource_version (type, id, version)`,
		// Type history, newest first, paged by seq.
		`CREATE INDEX resource_version_type ON resource_version (type, seq)`,
		// _since and _at on system history, and the clock floor.
		`CREATE INDEX resource_version_time ON resource_version (last_updated)`,
		// The current version of each resource. Rows are updated in place
		// at every write; the free space left by fillfactor 90 lets those
		// updates stay on the same page without touching the index (HOT).
		`CREATE TABLE resource (
			version bigint  NOT NULL,
			seq     bigint  NOT NULL,
			deleted boolean NOT NULL,
			type    text    NOT NULL,
			id      text    NOT NULL,
			PRIMARY KEY (type, id)
		) WITH (fillfactor = 90)`,
	},
	// 2: the search index tables, shared with the other backend.
	storesql.SearchSchema(storesql.Postgres),
	// 3: token rows of one code in seq order, for paging.
	storesql.SearchSeqOrder(),
	// 4: the indexer version of the stored index rows.
	storesql.SearchMeta(),
	// 5: what the access decision reads (internal/access).
	storesql.AccessSchema(storesql.Postgres),
	// 6: the HL7 v2 message store (internal/feed).
	storesql.HL7Schema(storesql.Postgres),
	// 7: users, clients, keys and grants of the built-in OAuth 2.0
	// authorisation server (package authn).
	storesql.AuthSchema(storesql.Postgres),
	// 8: the transparency log of AuditEvents (internal/audit).
	storesql.AuditSchema(storesql.Postgres),
	// 9: the versions a create with a server-assigned id wrote.
	storesql.HistoryCreated(),
	// 10: break-glass grants (internal/access).
	storesql.BreakGlassSchema(storesql.Postgres),
	// 11: bytewise type and id keys on PostgreSQL (nothing on SQLite).
	storesql.BytewiseKeys(storesql.Postgres),
}

// migrate applies the pending migrations, each in its own transaction
// together with its schema_migration row, so a failure leaves the schema
// at a whole version. Each transaction first takes an advisory lock keyed
// by the schema, so two processes starting at once apply a migration once:
// the second waits, then finds the version recorded and skips it. (Even
// CREATE TABLE IF NOT EXISTS can fail when run concurrently, hence the lock
// around creating the bookkeeping table too.)
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	for i, steps := range migrations {
		version := i + 1
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			return migrateOne(ctx, tx, version, steps)
		})
		if err != nil {
			return fmt.Errorf("store/postgres: migration %d: %w", version, err)
		}
	}
	return nil
}

func migrateOne(ctx context.Context, tx pgx.Tx, version int, steps []string) error {
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('junction.migrate'), hashtext(current_schema()))"); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migration (
		version    integer PRIMARY KEY,
		applied_at bigint  NOT NULL -- microseconds since the epoch, UTC
	)`); err != nil {
		return err
	}
	var newest int
	if err := tx.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migration").Scan(&newest); err != nil {
		return err
	}
	if newest > len(migrations) {
		// A newer binary has migrated this database; this one would not
		// know how to keep the newer tables (search indexes) up to date.
		return fmt.Errorf("database schema is at version %d, newer than this binary's %d", newest, len(migrations))
	}
	if newest >= version {
		return nil
	}
	for _, step := range steps {
		if _, err := tx.Exec(ctx, step); err != nil {
			return err
		}
	}
	_, err := tx.Exec(ctx, "INSERT INTO schema_migration (version, applied_at) VALUES ($1, $2)", version, time.Now().UnixMicro())
	return err
}
