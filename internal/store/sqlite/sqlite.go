// Package sqlite is the embedded storage backend: one database file in a
// directory, written through a single connection and read through a pool.
//
// SQLite allows one writer at a time whatever the application does, so
// the store makes that explicit: every Write runs on the one writer
// connection inside BEGIN IMMEDIATE (the write lock is taken at the start,
// so a transaction never fails half way with SQLITE_BUSY on upgrade), and
// readers use their own query_only connections, which WAL lets run while a
// write is in progress.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nhs-junction/junction/internal/store"
	"github.com/nhs-junction/junction/internal/store/storesql"

	// The pure-Go SQLite driver, registered as "sqlite": no cgo, so the
	// binary stays one static file.
	_ "modernc.org/sqlite"
)

// FileName is the database file Open creates inside its directory. SQLite
// keeps junction.db-wal and junction.db-shm beside it; back up all three,
// or use the SQLite backup API.
const FileName = "junction.db"

// Option adjusts Open.
type Option func(*options)

type options struct {
	readConns   int
	busyTimeout time.Duration
}

// ReadConns sets the size of the read pool (default: the larger of 4 and
// GOMAXPROCS). Readers do not block the writer or each other under WAL.
func ReadConns(n int) Option { return func(o *options) { o.readConns = n } }

// BusyTimeout sets how long a connection waits for a lock held by another
// process sharing the file before failing (default 10s). Within one
// process writes queue on the single writer connection instead.
func BusyTimeout(d time.Duration) Option { return func(o *options) { o.busyTimeout = d } }

// Store is a store.Store on one SQLite database file.
type Store struct {
	writer *sql.DB   // MaxOpenConns 1: the only connection that writes
	read   *sql.DB   // query_only connections
	stmts  stmtCache // prepared on read
	clock  storesql.Clock
	closed atomic.Bool
	group  group // writers waiting for the next commit
}

var _ store.Store = (*Store)(nil)

// Open creates dir (mode 0700) if needed, opens or creates the database
// file inside it, applies any pending migrations and returns the store.
// Two processes may Open the same directory at once; SQLite's file locks
// serialise their writes.
func Open(ctx context.Context, dir string, opts ...Option) (*Store, error) {
	o := options{readConns: max(4, runtime.GOMAXPROCS(0)), busyTimeout: 10 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	if o.readConns < 1 {
		return nil, errors.New("store/sqlite: ReadConns must be at least 1")
	}
	if strings.Contains(dir, "?") {
		// The driver reads everything after '?' as connection parameters.
		return nil, fmt.Errorf("store/sqlite: directory %q contains '?'", dir)
	}
	// Patient records: only the server's own user may read the files.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store/sqlite: %w", err)
	}
	path := filepath.Join(dir, FileName)
	// Creating the file ourselves sets its mode; SQLite gives the -wal and
	// -shm files the same mode as the database file.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store/sqlite: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("store/sqlite: %w", err)
	}

	busy := strconv.FormatInt(o.busyTimeout.Milliseconds(), 10)
	writer, err := sql.Open("sqlite", dsn(path, "immediate",
		"busy_timeout("+busy+")",
		// WAL: readers see the last commit while a write is in progress,
		// and a commit appends to one file instead of rewriting pages.
		"journal_mode(WAL)",
		// FULL, not NORMAL: in WAL mode NORMAL syncs the WAL only at
		// checkpoints, so transactions acknowledged since the last
		// checkpoint are lost on power failure (the file stays consistent,
		// but the writes are gone). FULL fsyncs the WAL at every commit, so
		// once Write returns the transaction is on stable storage. The cost
		// is one fsync per write transaction; callers who need throughput
		// batch several Puts into one Write (a FHIR transaction bundle).
		"synchronous(FULL)",
		// On macOS fsync does not flush the drive's cache; F_FULLFSYNC
		// does. A no-op on Linux.
		"fullfsync(1)",
		"checkpoint_fullfsync(1)",
		// 64 MiB of page cache for the writer: index pages of the hot
		// tables stay in memory across transactions.
		"cache_size(-65536)",
		// Shrink the WAL back to 64 MiB after a checkpoint so a burst of
		// writes does not leave a large file behind for good.
		"journal_size_limit(67108864)",
		"temp_store(MEMORY)",
		// No foreign keys: resource.seq always names a row that Put wrote
		// in the same transaction, and checking it would cost a lookup on
		// every write for no protection the code does not already give.
		"foreign_keys(0)",
	))
	if err != nil {
		return nil, fmt.Errorf("store/sqlite: %w", err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)

	s := &Store{writer: writer}
	if err := migrate(ctx, writer); err != nil {
		writer.Close()
		return nil, err
	}
	// Refresh the planner's statistics where they are missing or stale,
	// with the bounded analysis SQLite recommends at start-up, so a process
	// that was killed before Close does not leave the planner guessing.
	if _, err := writer.ExecContext(ctx, "PRAGMA optimize=0x10002"); err != nil {
		writer.Close()
		return nil, fmt.Errorf("store/sqlite: optimize: %w", err)
	}

	read, err := sql.Open("sqlite", dsn(path, "deferred",
		"busy_timeout("+busy+")",
		// A read connection can never write, whatever a later layer asks
		// of it: a bug there fails instead of bypassing the writer.
		"query_only(1)",
		"cache_size(-16384)",
		"temp_store(MEMORY)",
	))
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("store/sqlite: %w", err)
	}
	read.SetMaxOpenConns(o.readConns)
	read.SetMaxIdleConns(o.readConns)
	read.SetConnMaxLifetime(0)
	read.SetConnMaxIdleTime(0)
	s.read = read
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// dsn builds a modernc.org/sqlite connection string. Pragmas given this way
// run on every new connection, so a connection the pool replaces gets
// them too.
func dsn(path, txlock string, pragmas ...string) string {
	q := url.Values{}
	q.Set("_txlock", txlock)
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	return path + "?" + q.Encode()
}

// Ping reports whether the database answers on the read pool and carries
// the schema this binary expects.
func (s *Store) Ping(ctx context.Context) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	var v int
	if err := s.read.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM schema_migration").Scan(&v); err != nil {
		return s.fail("ping", err)
	}
	if v != len(migrations) {
		return fmt.Errorf("store/sqlite: schema version %d, this binary needs %d", v, len(migrations))
	}
	return nil
}

// Close closes both pools after the operations in progress finish. Every
// later call, Close included, returns store.ErrClosed.
func (s *Store) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return store.ErrClosed
	}
	var errs []error
	if s.read != nil {
		errs = append(errs, s.stmts.close(), s.read.Close())
	}
	// Gather statistics for the query planner from what this process ran,
	// as SQLite recommends before closing a long-lived connection.
	_, err := s.writer.Exec("PRAGMA optimize")
	errs = append(errs, err, s.writer.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("store/sqlite: close: %w", err)
	}
	return nil
}

// fail wraps a driver error for the log. The HTTP layer shows clients a
// generic message for anything that is not a store sentinel, so the
// driver's text stays internal.
func (s *Store) fail(op string, err error) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("store/sqlite: %s: %w", op, err)
}
