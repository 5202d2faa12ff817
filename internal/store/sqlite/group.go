package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"github.com/nhs-junction/junction/internal/store"
	"github.com/nhs-junction/junction/internal/store/storesql"
)

// Group commit. With synchronous=FULL every commit costs an fsync (about
// 3-6 ms on the machines measured), and SQLite has one writer, so
// concurrent writers would each wait for everyone else's fsync in turn.
// Instead, writers that arrive while a commit is in progress queue up, and
// the next of them to lead runs the whole queue in one database
// transaction: each function in a SAVEPOINT of its own (so one function's
// error rolls back only its own writes), then a single COMMIT, whose fsync
// makes every function's writes durable before any of them is
// acknowledged. Each function still sees a transaction of its own: its
// own clock reading, and the writes of the functions before it.

type writeReq struct {
	ctx  context.Context
	fn   func(store.Tx) error
	err  error
	pnc  any           // a panic in fn, re-raised in the caller
	lead chan struct{} // closed when this request must lead the next batch
	done chan struct{} // closed when the request is finished
}

type group struct {
	mu      sync.Mutex
	leading bool
	pending []*writeReq
}

// maxBatch bounds the work one commit carries, so a long queue cannot
// delay its first writer without limit.
const maxBatch = 256

// Write runs fn in a transaction on the writer connection; see the group
// commit note above. It returns once fn's writes are durable, or with
// fn's error (or a commit failure) and nothing of fn's kept.
func (s *Store) Write(ctx context.Context, fn func(store.Tx) error) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	r := &writeReq{ctx: ctx, fn: fn, lead: make(chan struct{}), done: make(chan struct{})}
	g := &s.group
	g.mu.Lock()
	g.pending = append(g.pending, r)
	if !g.leading {
		g.leading = true
		close(r.lead)
	}
	g.mu.Unlock()
	select {
	case <-r.done:
	case <-r.lead:
		s.leadBatch()
		<-r.done
	}
	if r.pnc != nil {
		panic(r.pnc)
	}
	return r.err
}

// leadBatch takes the queue (up to maxBatch), runs it, and hands the lead
// to the first writer still waiting, if any.
func (s *Store) leadBatch() {
	g := &s.group
	g.mu.Lock()
	n := min(len(g.pending), maxBatch)
	batch := append([]*writeReq(nil), g.pending[:n]...)
	g.pending = g.pending[n:]
	g.mu.Unlock()

	s.runBatch(batch)

	g.mu.Lock()
	if len(g.pending) > 0 {
		close(g.pending[0].lead)
	} else {
		g.leading = false
	}
	g.mu.Unlock()
	for _, r := range batch {
		close(r.done)
	}
}

// runBatch runs the requests in one transaction and sets each one's err.
func (s *Store) runBatch(batch []*writeReq) {
	failAll := func(err error) {
		for _, r := range batch {
			if r.err == nil && r.pnc == nil {
				r.err = err
			}
		}
	}
	if s.closed.Load() {
		failAll(store.ErrClosed)
		return
	}
	// The batch outlives any one caller's context; each function's
	// statements use its own.
	ctx := context.Background()
	sqlTx, err := s.writer.BeginTx(ctx, nil) // BEGIN IMMEDIATE, from the DSN
	if err != nil {
		failAll(s.fail("begin", err))
		return
	}
	// The clock's floor is the newest last_updated in the file, read under
	// the write lock: a time that another process (or this one before a
	// restart) already used is never handed out again, which keeps
	// last_updated in the same order as seq.
	var floor int64
	if err := sqlTx.QueryRowContext(ctx, "SELECT coalesce(max(last_updated), 0) FROM resource_version").Scan(&floor); err != nil {
		sqlTx.Rollback()
		failAll(s.fail("clock", err))
		return
	}
	single := len(batch) == 1
	live := 0
	// The functions of a batch share one database transaction, so they
	// share its prepared statements too (Tx.prepared): each statement text
	// is parsed once per commit, not once per function.
	prep := map[string]*sql.Stmt{}
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = err
			continue
		}
		if !single {
			if _, err := sqlTx.ExecContext(ctx, "SAVEPOINT w"); err != nil {
				sqlTx.Rollback()
				failAll(s.fail("savepoint", err))
				return
			}
		}
		tx := &Tx{tx: sqlTx, now: storesql.FromMicros(s.clock.Next(floor)), prep: prep}
		r.err, r.pnc = call(r.fn, tx)
		tx.done = true
		if r.err != nil || r.pnc != nil {
			if single {
				sqlTx.Rollback()
				return
			}
			if err := undo(ctx, sqlTx); err != nil {
				sqlTx.Rollback()
				failAll(s.fail("rollback to savepoint", err))
				return
			}
			continue
		}
		if !single {
			if _, err := sqlTx.ExecContext(ctx, "RELEASE w"); err != nil {
				sqlTx.Rollback()
				failAll(s.fail("release", err))
				return
			}
		}
		live++
	}
	if live == 0 {
		sqlTx.Rollback()
		return
	}
	if err := sqlTx.Commit(); err != nil {
		failAll(s.fail("commit", err))
	}
}

// call runs fn, turning a panic into a value the caller re-raises.
func call(fn func(store.Tx) error, tx *Tx) (err error, pnc any) {
	defer func() {
		if p := recover(); p != nil {
			pnc = p
			if pnc == nil {
				pnc = fmt.Errorf("panic(nil)")
			}
		}
	}()
	return fn(tx), nil
}

func undo(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, "ROLLBACK TO w"); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, "RELEASE w")
	return err
}
