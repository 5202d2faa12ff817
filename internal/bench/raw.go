package bench

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	// The same pure-Go driver store/sqlite uses.
	_ "modernc.org/sqlite"
)

// rawTable is the ingest baseline: one plain table (id TEXT PRIMARY KEY,
// body BLOB) with no versions, no current pointer and no search index,
// written with the same driver and the same durability as the store.
type rawTable interface {
	// insert stores recs in one transaction, committed durably.
	insert(ctx context.Context, recs []rawRecord) error
	// diskBytes is the table's footprint, measured as the store's is.
	diskBytes(ctx context.Context) (int64, error)
	close()
}

// sqliteRaw is the baseline on SQLite, with the connection settings of
// store/sqlite's writer: WAL, synchronous=FULL (an fsync per commit),
// BEGIN IMMEDIATE, the same page cache, and one writer connection that
// concurrent clients queue for.
type sqliteRaw struct {
	dir string
	db  *sql.DB
}

func openSQLiteRaw(ctx context.Context, dir string) (*sqliteRaw, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	q := url.Values{}
	q.Set("_txlock", "immediate")
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(FULL)",
		"fullfsync(1)", "checkpoint_fullfsync(1)", "cache_size(-65536)",
		"journal_size_limit(67108864)", "temp_store(MEMORY)", "foreign_keys(0)"} {
		q.Add("_pragma", p)
	}
	db, err := sql.Open("sqlite", filepath.Join(dir, "raw.db")+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	if _, err := db.ExecContext(ctx, "CREATE TABLE raw (id TEXT PRIMARY KEY, body BLOB NOT NULL)"); err != nil {
		db.Close()
		return nil, fmt.Errorf("bench: raw table: %w", err)
	}
	return &sqliteRaw{dir: dir, db: db}, nil
}

func (s *sqliteRaw) insert(ctx context.Context, recs []rawRecord) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, "INSERT INTO raw (id, body) VALUES (?, ?)")
	if err != nil {
		return err
	}
	for _, r := range recs {
		if _, err := stmt.ExecContext(ctx, r.key, r.body); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func (s *sqliteRaw) diskBytes(ctx context.Context) (int64, error) {
	if _, err := s.db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return 0, err
	}
	return dirBytes(s.dir)
}

func (s *sqliteRaw) close() { s.db.Close() }

// checkpoint copies the WAL of the SQLite database at path into the file
// and truncates it, so the directory's size is the data's, not the size
// of a WAL that happens not to have been checkpointed yet.
func checkpoint(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	var busy, logFrames, moved int
	if err := db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &moved); err != nil {
		return fmt.Errorf("bench: checkpoint: %w", err)
	}
	if busy != 0 {
		return fmt.Errorf("bench: checkpoint of %s could not finish (busy)", path)
	}
	return nil
}

// pgRaw is the baseline on PostgreSQL: pgx with the pool the same URL
// gives the store, and synchronous_commit on, as store/postgres insists.
type pgRaw struct {
	url, schema string
	pool        *pgxpool.Pool
}

func openPGRaw(ctx context.Context, dbURL, schema string) (*pgRaw, error) {
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return nil, err
	}
	cfg.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
		var mode string
		if err := conn.QueryRow(ctx, "SHOW synchronous_commit").Scan(&mode); err != nil {
			return err
		}
		if mode == "off" {
			_, err := conn.Exec(ctx, "SET synchronous_commit = on")
			return err
		}
		return nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := pool.Exec(ctx, "CREATE TABLE raw (id text PRIMARY KEY, body bytea NOT NULL)"); err != nil {
		pool.Close()
		return nil, fmt.Errorf("bench: raw table: %w", err)
	}
	return &pgRaw{url: dbURL, schema: schema, pool: pool}, nil
}

func (p *pgRaw) insert(ctx context.Context, recs []rawRecord) error {
	return pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		for _, r := range recs {
			if _, err := tx.Exec(ctx, "INSERT INTO raw (id, body) VALUES ($1, $2)", r.key, r.body); err != nil {
				return err
			}
		}
		return nil
	})
}

func (p *pgRaw) diskBytes(ctx context.Context) (int64, error) {
	return schemaBytes(ctx, p.url, p.schema)
}

func (p *pgRaw) close() { p.pool.Close() }
