// Package postgres is the production storage backend, on PostgreSQL
// through a pgx connection pool.
//
// Unlike SQLite, PostgreSQL runs write transactions concurrently. Two
// writers of the same resource are serialised by a row lock on its
// resource row (Tx.Current and Tx.Put lock it), and two creators of the
// same new resource by the unique key on resource_version, so no update is
// ever lost; a writer that loses such a race, a deadlock or a
// serialisation failure gets store.ErrVersionConflict and may retry.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nhs-junction/junction/internal/store"
	"github.com/nhs-junction/junction/internal/store/storesql"
)

// Store is a store.Store on one PostgreSQL database (and schema: the
// connection's search_path decides where the tables live).
type Store struct {
	pool   *pgxpool.Pool
	clock  storesql.Clock
	floor  int64 // newest last_updated when the store was opened
	closed atomic.Bool
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at url (a postgres:// URL or key=value
// string as pgx accepts, including pool_max_conns), applies any pending
// migrations and returns the store.
//
// Open refuses a server running with fsync=off, which cannot keep the
// promise that an acknowledged write survives a crash, and it turns
// synchronous_commit back on for its own connections when the server or
// role default has it off.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx redacts the password from its parse errors.
		return nil, fmt.Errorf("store/postgres: %w", err)
	}
	cfg.AfterConnect = durableSession
	if _, set := cfg.ConnConfig.RuntimeParams["jit"]; !set {
		// Compiling a plan to machine code pays off for long analytical
		// queries; for these short, index-driven statements it only adds
		// time once a plan's estimated cost crosses jit_above_cost
		// (measured: 230 ms of JIT for a 1 s date-sorted page). A URL that
		// sets jit keeps its own choice.
		cfg.ConnConfig.RuntimeParams["jit"] = "off"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store/postgres: %w", err)
	}
	s := &Store{pool: pool}
	if err := s.checkFsync(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	if err := pool.QueryRow(ctx, "SELECT coalesce(max(last_updated), 0) FROM resource_version").Scan(&s.floor); err != nil {
		pool.Close()
		return nil, s.fail("clock", err)
	}
	return s, nil
}

// durableSession makes every pooled connection commit durably. With
// synchronous_commit=off PostgreSQL acknowledges a COMMIT before its WAL
// record reaches disk, so a crash can lose transactions that Write
// reported as committed. Any setting other than off (local, on,
// remote_write, remote_apply) waits at least for the local WAL flush, so
// a stronger choice made by the operator for replication is left alone.
func durableSession(ctx context.Context, conn *pgx.Conn) error {
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

func (s *Store) checkFsync(ctx context.Context) error {
	var fsync string
	if err := s.pool.QueryRow(ctx, "SHOW fsync").Scan(&fsync); err != nil {
		return s.fail("check fsync", err)
	}
	if fsync != "on" {
		return errors.New("store/postgres: the server runs with fsync=off, so committed writes could be lost in a crash; turn fsync on")
	}
	return nil
}

// Ping reports whether the database answers and carries the schema this
// binary expects.
func (s *Store) Ping(ctx context.Context) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	var v int
	if err := s.pool.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migration").Scan(&v); err != nil {
		return s.fail("ping", err)
	}
	if v != len(migrations) {
		return fmt.Errorf("store/postgres: schema version %d, this binary needs %d", v, len(migrations))
	}
	return nil
}

// Close closes the pool after the connections in use are released. Every
// later call, Close included, returns store.ErrClosed.
func (s *Store) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return store.ErrClosed
	}
	s.pool.Close()
	return nil
}

// fail turns a driver error into the store's: the races that the contract
// names become store.ErrVersionConflict (without the server's text, which
// callers may show), and anything else is wrapped for the log. The HTTP
// layer shows clients a generic message for errors that are not store
// sentinels.
func (s *Store) fail(op string, err error) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	return mapErr(op, err)
}

func mapErr(op string, err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "40001", "40P01":
			// serialization_failure, deadlock_detected: another transaction
			// touched the same rows; retrying the whole Write may succeed.
			return fmt.Errorf("%w: concurrent transaction (%s)", store.ErrVersionConflict, op)
		case "23505":
			// unique_violation: another transaction stored the same version.
			return fmt.Errorf("%w: version already stored (%s)", store.ErrVersionConflict, op)
		}
	}
	return fmt.Errorf("store/postgres: %s: %w", op, err)
}
