package search

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nhs-junction/junction/internal/store"
	"github.com/nhs-junction/junction/internal/store/storesql"
)

// DefaultPageLifetime is how long a search's page links stay valid unless
// SetPageLifetime says otherwise. R4 leaves the lifetime of paging links
// to the server (http.html#paging, search.html 3.1.1.6: "links ... may
// expire").
const DefaultPageLifetime = time.Hour

// vacuumBatch is how many replaced versions one vacuum transaction clears,
// so a vacuum never holds the (SQLite: only) writer for long.
const vacuumBatch = 500

// vacuum removes the index rows of replaced versions in the background,
// once no live page link can read them.
//
// Every page of a search reads the index rows of the versions that were
// current at its first page's snapshot, so the rows of a version stay
// while a page link pinned before its replacement may still be followed:
// a page link expires PageLifetime after its first page (410 Gone:
// repeat the search), and the rows of a version replaced before a
// moment T are removed once T is more than PageLifetime (plus a tenth
// for the clocks of servers sharing a database) in the past. Within its
// lifetime every page answers exactly as at the first page; after it,
// never from a partial index. Index tables therefore hold the current
// versions' rows and those of versions replaced within about one
// lifetime, however often resources are updated.
//
// The moments are samples of the store's snapshot (seq and, on
// PostgreSQL, the transactions open), taken as writes happen; a sample
// is used only once every transaction open at it has ended, and a
// version written by one of them is left to a later sample, so a page
// whose snapshot left such a transaction out never loses the version
// that transaction replaced.
type vacuum struct {
	run      sync.Mutex // one VacuumNow at a time in this process
	mu       sync.Mutex
	lifetime time.Duration
	samples  []sample // oldest first
	lastRun  time.Time
	running  bool

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type sample struct {
	at   time.Time
	seq  int64
	open []int64
}

func newVacuum() *vacuum {
	ctx, cancel := context.WithCancel(context.Background())
	return &vacuum{lifetime: DefaultPageLifetime, ctx: ctx, cancel: cancel}
}

// SetPageLifetime sets how long page links stay valid, and with it how
// long the index rows of replaced versions are kept (see DefaultPageLifetime).
// 0 expires every page link at once and lets the rows go at the next
// vacuum. It is meant to be called once, before serving.
func (e *Engine) SetPageLifetime(d time.Duration) {
	e.vac.mu.Lock()
	defer e.vac.mu.Unlock()
	e.vac.lifetime = max(d, 0)
}

// PageLifetime returns how long page links stay valid.
func (e *Engine) PageLifetime() time.Duration {
	e.vac.mu.Lock()
	defer e.vac.mu.Unlock()
	return e.vac.lifetime
}

// Close stops the background vacuum, waits for a run in progress, and
// closes the store.
func (e *Engine) Close() error {
	e.vac.cancel()
	e.vac.wg.Wait()
	return e.Store.Close()
}

// interval is how often a vacuum runs and a sample is taken.
func (v *vacuum) interval() time.Duration { return v.lifetime / 8 }

// afterWrite starts a background vacuum run when one is due: the write
// path drives the vacuum, so a store that is written to keeps its index
// tables bounded without a scheduler of its own.
func (e *Engine) afterWrite() {
	v := e.vac
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.running || v.ctx.Err() != nil || time.Since(v.lastRun) < v.interval() {
		return
	}
	v.running = true
	v.wg.Add(1)
	go func() {
		defer v.wg.Done()
		// A failed run is retried at the next due write; the rows it
		// left are only disk, never a wrong answer.
		_, _ = e.VacuumNow(v.ctx)
		v.mu.Lock()
		v.running = false
		v.mu.Unlock()
	}()
}

// VacuumNow runs the vacuum once, in the caller's goroutine: it records a
// sample of the store's snapshot and removes the index rows of versions
// replaced before the newest usable sample (see vacuum). It returns how
// many replaced versions it cleared.
func (e *Engine) VacuumNow(ctx context.Context) (int, error) {
	v := e.vac
	v.run.Lock()
	defer v.run.Unlock()
	now := time.Now()
	s, err := e.sample(ctx)
	if err != nil {
		return 0, err
	}
	s.at = now
	v.mu.Lock()
	v.lastRun = now
	if n := len(v.samples); n == 0 || now.Sub(v.samples[n-1].at) >= v.interval() {
		v.samples = append(v.samples, s)
	}
	lifetime := v.lifetime
	cutoff := now.Add(-lifetime - lifetime/10)
	samples := slices.Clone(v.samples)
	v.mu.Unlock()

	// The newest sample old enough whose open transactions have all ended.
	use := -1
	for i := len(samples) - 1; i >= 0 && use < 0; i-- {
		if samples[i].at.After(cutoff) {
			continue
		}
		if !intersects(samples[i].open, s.open) {
			use = i
		}
	}
	if use < 0 {
		return 0, nil
	}
	n, err := e.clear(ctx, samples[use].seq, samples[use].open)
	if err != nil {
		return n, fmt.Errorf("search: vacuum: %w", err)
	}
	v.mu.Lock()
	// Samples up to the one used are done with.
	v.samples = slices.DeleteFunc(v.samples, func(x sample) bool { return !x.at.After(samples[use].at) })
	v.mu.Unlock()
	return n, nil
}

func intersects(a, b []int64) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

// sample reads the store's snapshot: the newest seq and, on PostgreSQL,
// the transactions open.
func (e *Engine) sample(ctx context.Context) (sample, error) {
	var s sample
	var err error
	if sn, ok := e.db.(Snapshotter); ok {
		s.seq, s.open, err = sn.Snapshot(ctx)
	} else {
		err = e.db.QueryShared(ctx, storesql.MaxSeq, nil, func(scan func(...any) error) error { return scan(&s.seq) })
	}
	if err != nil {
		return s, fmt.Errorf("search: vacuum: snapshot: %w", err)
	}
	return s, nil
}

// Vacuum removes at once the index rows of every version replaced at or
// before seq before, and refuses (410) page links pinned before it. It is
// for maintenance when no page link pinned before before is in use; the
// server's own vacuum (VacuumNow, run by writes) waits for page links to
// expire instead.
func (e *Engine) Vacuum(ctx context.Context, before int64) error {
	_, err := e.clear(ctx, before, nil)
	if err != nil {
		return fmt.Errorf("search: vacuum: %w", err)
	}
	return nil
}

// clear removes the index rows of the versions whose successor has
// done < seq <= upto, except successors written by the transactions in
// open, in transactions of vacuumBatch versions. done, the vacuum's
// progress, is kept in search_horizon row 2 so that servers sharing a
// database, and a restarted one, carry on from it; row 1, the horizon,
// is raised with it: a page link pinned before the horizon is refused
// rather than answered from rows that are gone.
func (e *Engine) clear(ctx context.Context, upto int64, open []int64) (int, error) {
	var done int64
	err := e.db.QueryShared(ctx, "SELECT seq FROM search_horizon WHERE id = 2", nil, func(scan func(...any) error) error { return scan(&done) })
	if err != nil {
		return 0, err
	}
	notOpen := ""
	if len(open) > 0 {
		notOpen = " AND " + storesql.NotOpen("n", open)
		// Versions written by a transaction open at the sample stay for
		// a later sample: progress stops short of the first of them.
		var first *int64
		q := "SELECT min(n.seq) FROM resource_version n WHERE n.seq > ? AND n.seq <= ? AND n.version > 1 AND NOT (" + storesql.NotOpen("n", open) + ")"
		if err := e.db.QueryShared(ctx, q, []any{done, upto}, func(scan func(...any) error) error { return scan(&first) }); err != nil {
			return 0, err
		}
		if first != nil {
			upto = min(upto, *first-1)
		}
	}
	cleared := 0
	for done < upto {
		var olds []any
		last := upto
		q := "SELECT o.seq, n.seq FROM resource_version n JOIN resource_version o ON o.type = n.type AND o.id = n.id AND o.version = n.version - 1 " +
			"WHERE n.seq > ? AND n.seq <= ? AND n.version > 1" + notOpen + " ORDER BY n.seq LIMIT ?"
		var lastN int64
		err := e.db.QueryShared(ctx, q, []any{done, upto, vacuumBatch}, func(scan func(...any) error) error {
			var o int64
			if err := scan(&o, &lastN); err != nil {
				return err
			}
			olds = append(olds, o)
			return nil
		})
		if err != nil {
			return cleared, err
		}
		if len(olds) == vacuumBatch {
			last = lastN
		}
		err = e.Store.Write(ctx, func(tx store.Tx) error {
			ex, ok := e.execOf(tx)
			if !ok {
				return errors.New("transaction cannot write index rows")
			}
			// Raise the horizon first: a page pinned before it fails
			// instead of reading rows about to go.
			if err := ex.ExecShared(ctx, "UPDATE search_horizon SET seq = ? WHERE id = 1 AND seq < ?", last, last); err != nil {
				return err
			}
			if len(olds) > 0 {
				in := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(olds)), ", ") + ")"
				for _, t := range indexTables {
					if err := ex.ExecShared(ctx, "DELETE FROM "+t+" WHERE seq IN "+in, olds...); err != nil {
						return err
					}
				}
			}
			return ex.ExecShared(ctx, "INSERT INTO search_horizon (id, seq) VALUES (2, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq WHERE search_horizon.seq < excluded.seq", last)
		})
		if err != nil {
			return cleared, err
		}
		cleared += len(olds)
		done = last
		if err := ctx.Err(); err != nil {
			return cleared, err
		}
	}
	return cleared, nil
}

// IndexRowCount returns the number of rows in the index tables, for
// monitoring the vacuum (and its tests).
func (e *Engine) IndexRowCount(ctx context.Context) (int64, error) {
	var total int64
	for _, t := range indexTables {
		var n int64
		if err := e.db.QueryShared(ctx, "SELECT count(*) FROM "+t, nil, func(scan func(...any) error) error { return scan(&n) }); err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}
