package audit

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"sort"
	"sync"

	"golang.org/x/mod/sumdb/note"
)

// Kind names what Verify found wrong.
type Kind string

// Problem kinds, each with the action a reader of the report takes.
const (
	// Changed: an AuditEvent differs from what was logged, or a leaf from
	// the hash the log published for its index.
	Changed Kind = "changed"
	// Deleted: a logged AuditEvent or leaf is gone, or fewer leaves are
	// stored than a checkpoint signed for.
	Deleted Kind = "deleted"
	// Reordered: leaves hold entries the log published at other indices.
	Reordered Kind = "reordered"
	// Unlogged: an AuditEvent version was stored without a leaf.
	Unlogged Kind = "unlogged"
	// Fork: the log no longer contains a tree it signed before (a saved
	// checkpoint): its history was rewritten.
	Fork Kind = "fork"
	// Rewritten: the stored leaves and tiles agree with each other but
	// not with the signed checkpoint.
	Rewritten Kind = "rewritten"
	// Tiles: the published tiles do not match the stored leaves.
	Tiles Kind = "tiles"
	// KeyProblem: the log's key is missing, or is not the trusted key, or
	// a checkpoint is not signed by it.
	KeyProblem Kind = "key"
	// State: the integrator's stored state does not match the leaves.
	State Kind = "state"
)

// Problem is one thing Verify found wrong.
type Problem struct {
	Kind   Kind
	Detail string
}

func (p Problem) String() string { return string(p.Kind) + ": " + p.Detail }

// VerifyOptions configure Verify.
type VerifyOptions struct {
	// Key is the verifier key to trust (as Log.VerifierKey printed it).
	// Empty: the key stored in the database, which protects against
	// changes made without it but not against someone who also replaced it.
	Key string
	// Saved is a signed checkpoint kept outside the database (from
	// /log/checkpoint, or written by an earlier verify). The log must
	// still contain the tree it signed.
	Saved []byte
	// MaxProblems bounds the problems listed per kind (default 20); the
	// rest are counted.
	MaxProblems int
}

// Report is what Verify found.
type Report struct {
	Origin     string
	Key        string      // the verifier key used
	Checkpoint *Checkpoint // the database's latest checkpoint, when its signature verified
	Leaves     uint64      // leaves with an index
	Root       []byte      // root recomputed from all of them
	Queued     int         // AuditEvent versions queued, not yet integrated
	Events     int         // AuditEvent versions stored
	Problems   []Problem
	Omitted    map[Kind]int // problems beyond MaxProblems, per kind

	mu  sync.Mutex // the passes run in parallel
	max int
}

// OK reports whether nothing was found wrong.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// Kinds returns the kinds of problem found, sorted.
func (r *Report) Kinds() []Kind {
	seen := map[Kind]bool{}
	var out []Kind
	for _, p := range r.Problems {
		if !seen[p.Kind] {
			seen[p.Kind] = true
			out = append(out, p.Kind)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func (r *Report) add(k Kind, format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, p := range r.Problems {
		if p.Kind == k {
			n++
		}
	}
	if n >= r.max {
		if r.Omitted == nil {
			r.Omitted = map[Kind]int{}
		}
		r.Omitted[k]++
		return
	}
	r.Problems = append(r.Problems, Problem{Kind: k, Detail: fmt.Sprintf(format, args...)})
}

// Verify checks the log in db offline, from the stored data alone: it
// recomputes the Merkle tree from every stored leaf, checks the latest
// checkpoint's signature and root against it, checks that every leaf's
// entry commits to the stored AuditEvent version it names and that every
// stored AuditEvent version has a leaf, checks the published tiles and
// the integrator's state against the recomputed tree, and, given a saved
// checkpoint, that the log still contains the tree it signed. What it
// finds wrong is in the Report's Problems; the error is for a database
// that could not be read. It is safe to run while a server writes: it
// reads the checkpoint and the integrator's state before the leaves, and
// leaves integrated meanwhile are simply more than were signed.
func Verify(ctx context.Context, db DB, opts VerifyOptions) (*Report, error) {
	if opts.MaxProblems <= 0 {
		opts.MaxProblems = 20
	}
	r := &Report{max: opts.MaxProblems}
	var origin, vkey string
	if err := db.QueryShared(ctx, "SELECT origin, verifier FROM audit_key WHERE id = 1", nil, func(scan func(...any) error) error {
		return scan(&origin, &vkey)
	}); err != nil {
		return nil, fmt.Errorf("audit: read the log key: %w", err)
	}
	r.Origin, r.Key = origin, vkey
	if opts.Key != "" {
		if vkey != opts.Key {
			if vkey == "" {
				r.add(KeyProblem, "the database holds no log key; the trusted key is %s", opts.Key)
			} else {
				r.add(KeyProblem, "the database's log key %s is not the trusted key %s: it was replaced", vkey, opts.Key)
			}
		}
		r.Key = opts.Key
	}
	var verifier note.Verifier
	if r.Key != "" {
		v, err := note.NewVerifier(r.Key)
		if err != nil {
			r.add(KeyProblem, "the verifier key %q is unusable: %v", r.Key, err)
		} else {
			verifier = v
			if opts.Key == "" {
				r.Origin = v.Name()
			}
		}
	}

	// What was signed and the integrator's state, read before the leaves.
	var cp *Checkpoint
	if msg, err := latestCheckpoint(ctx, db); err != nil {
		if vkey != "" {
			r.add(KeyProblem, "the log has a key but no checkpoint")
		}
	} else if verifier != nil {
		c, err := OpenCheckpoint(msg, verifier)
		if err != nil {
			r.add(KeyProblem, "the database's checkpoint does not verify with %s: %v", r.Key, err)
		} else {
			cp, r.Checkpoint = &c, &c
		}
	}
	var saved *Checkpoint
	if len(opts.Saved) > 0 {
		if verifier == nil {
			r.add(KeyProblem, "the saved checkpoint cannot be checked: no usable key")
		} else if c, err := OpenCheckpoint(opts.Saved, verifier); err != nil {
			r.add(KeyProblem, "the saved checkpoint does not verify with the log's key %s (%v): the key or the log was replaced", r.Key, err)
		} else {
			saved = &c
		}
	}
	var stateSize int64
	var stateEdge []byte
	if err := db.QueryShared(ctx, "SELECT size, edge FROM audit_tree WHERE id = 1", nil, func(scan func(...any) error) error {
		return scan(&stateSize, &stateEdge)
	}); err != nil {
		return nil, fmt.Errorf("audit: read the tree state: %w", err)
	}

	// Pass 3, the AuditEvents with their bodies, runs beside passes 1 and 2.
	events := make(chan result, 1)
	go func() { events <- result{checkEvents(ctx, db, r)} }()

	// Pass 1: the leaves in index order, hashed into the tree. (The
	// AuditEvents they name are read in pass 3, in their own order: a
	// join here would fetch each body by a random b-tree descent.)
	w := newTreeWalk()
	gap, lastIdx := false, int64(-1)
	var cpRoot, savedRoot, stateRange []byte
	snap := func() {
		n := w.rng.End()
		if cp != nil && n == cp.Size {
			cpRoot = rootOf(w.rng)
		}
		if saved != nil && n == saved.Size {
			savedRoot = rootOf(w.rng)
		}
		if uint64(stateSize) == n {
			stateRange = encodeEdge(w.rng)
		}
	}
	snap()
	err := db.QueryShared(ctx, "SELECT idx, entry FROM audit_leaf WHERE idx IS NOT NULL ORDER BY idx", nil, func(scan func(...any) error) error {
		var idx int64
		var entry []byte
		if err := scan(&idx, &entry); err != nil {
			return err
		}
		if idx != lastIdx+1 {
			gap = true
			if idx-1 == lastIdx+1 {
				r.add(Deleted, "leaf %d is missing from the log", idx-1)
			} else {
				r.add(Deleted, "leaves %d to %d are missing from the log", lastIdx+1, idx-1)
			}
		}
		lastIdx = idx
		if err := w.append(hasher.HashLeaf(entry)); err != nil {
			return err
		}
		snap()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("audit: read the leaves: %w", err)
	}
	r.Leaves, r.Root = w.rng.End(), rootOf(w.rng)

	// Pass 2: the published tiles against the recomputed tree.
	badTiles, err := w.checkTiles(ctx, db)
	if err != nil {
		return nil, err
	}
	// Tiles that differ from the leaves are the tiles' fault only when the
	// leaves give the signed root; otherwise the leaves changed, and the
	// tiles (published when they were integrated) show how.
	if !gap && (cp == nil || bytes.Equal(cpRoot, cp.Root)) {
		for _, k := range badTiles {
			r.add(Tiles, "tile %d/%d does not match the stored leaves", k.level, k.index)
		}
	}

	if cp != nil {
		switch {
		case cp.Size > r.Leaves:
			r.add(Deleted, "the checkpoint signed %d leaves, the database holds %d", cp.Size, r.Leaves)
		case gap:
			// Reported above; every later leaf is shifted, so comparing
			// them one by one would only repeat it.
		case !bytes.Equal(cpRoot, cp.Root):
			if err := diagnose(ctx, db, w, badTiles, r); err != nil {
				return nil, err
			}
			if len(badTiles) == 0 {
				r.add(Rewritten, "the tree of %d leaves recomputed from the database has root %x, the signed checkpoint says %x; leaves and tiles were rewritten together", cp.Size, cpRoot, cp.Root)
			}
		}
	}
	if saved != nil {
		switch {
		case saved.Size > r.Leaves:
			r.add(Fork, "the log holds %d leaves, fewer than the %d of the saved checkpoint: its history was rewritten", r.Leaves, saved.Size)
		case !bytes.Equal(savedRoot, saved.Root):
			r.add(Fork, "the log's tree of %d leaves has root %x, but the saved checkpoint signed %x: its history was rewritten", saved.Size, savedRoot, saved.Root)
		}
	}
	res := <-events
	if res.err != nil {
		return nil, res.err
	}
	r.sort()
	// The state follows the leaves; it is reported on its own only when
	// nothing else explains a difference.
	if len(r.Problems) == 0 && (uint64(stateSize) > r.Leaves || !bytes.Equal(stateRange, stateEdge)) {
		r.add(State, "the integrator's state (size %d) does not match the stored leaves", stateSize)
	}
	return r, nil
}

type result struct {
	err error
}

// sort orders the problems by kind, keeping each kind's in the order found.
func (r *Report) sort() {
	sort.SliceStable(r.Problems, func(i, j int) bool { return r.Problems[i].Kind < r.Problems[j].Kind })
}

// checkEvents is pass 3: every AuditEvent version with its leaf. Both
// tables are kept in seq order (audit_leaf.queued is the version's seq),
// so each is read sequentially, in pages, and the two are merged here;
// spans of seq are read in parallel, one reader per processor, because
// reading and hashing the bodies is most of Verify's work.
func checkEvents(ctx context.Context, db DB, r *Report) error {
	lo, hi := int64(1<<62), int64(-1)
	for _, q := range []string{"SELECT min(seq), max(seq) FROM resource_version WHERE type = 'AuditEvent'", "SELECT min(queued), max(queued) FROM audit_leaf"} {
		var a, b *int64
		if err := db.QueryShared(ctx, q, nil, func(scan func(...any) error) error { return scan(&a, &b) }); err != nil {
			return fmt.Errorf("audit: read the AuditEvents: %w", err)
		}
		if a != nil && b != nil {
			lo, hi = min(lo, *a), max(hi, *b)
		}
	}
	if hi < lo {
		return nil
	}
	workers := int64(min(8, max(1, runtime.GOMAXPROCS(0))))
	parts := workers * 8
	step := (hi-lo)/parts + 1
	spans := make(chan int64, parts)
	for from := lo; from <= hi; from += step {
		spans <- from
	}
	close(spans)
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for from := range spans {
				if err := checkSpan(ctx, db, r, from, from+step); err != nil {
					errs[i] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("audit: read the AuditEvents: %w", err)
		}
	}
	return nil
}

// pageRows bounds the rows of each table checkSpan holds at once.
const pageRows = 1024

type versionRow struct {
	seq, version int64
	id           string
	deleted      bool
	body         []byte
}

type leafRow struct {
	seq, version int64
	id           string
	idx          *int64
	salt, entry  []byte
}

// checkSpan checks the AuditEvent versions and leaves with seq in [from, to).
func checkSpan(ctx context.Context, db DB, r *Report, from, to int64) error {
	for cur := from; cur < to; {
		// A range of the table itself, not of its type index: the index
		// would cost a b-tree descent per row to reach each body
		// ("type || ''" keeps SQLite's planner off the index), while
		// AuditEvents are most of an audited store's rows anyway.
		var vs []versionRow
		if err := db.QueryShared(ctx, "SELECT seq, version, id, deleted, body FROM resource_version WHERE seq >= ? AND seq < ? AND type || '' = 'AuditEvent' ORDER BY seq LIMIT ?",
			[]any{cur, to, pageRows}, func(scan func(...any) error) error {
				var v versionRow
				if err := scan(&v.seq, &v.version, &v.id, &v.deleted, &v.body); err != nil {
					return err
				}
				vs = append(vs, v)
				return nil
			}); err != nil {
			return err
		}
		var ls []leafRow
		if err := db.QueryShared(ctx, "SELECT queued, ae_version, ae_id, idx, salt, entry FROM audit_leaf WHERE queued >= ? AND queued < ? ORDER BY queued LIMIT ?",
			[]any{cur, to, pageRows}, func(scan func(...any) error) error {
				var l leafRow
				if err := scan(&l.seq, &l.version, &l.id, &l.idx, &l.salt, &l.entry); err != nil {
					return err
				}
				ls = append(ls, l)
				return nil
			}); err != nil {
			return err
		}
		// Both pages cover [cur, end): a full page ends at its last row.
		end := to
		if len(vs) == pageRows {
			end = vs[len(vs)-1].seq + 1
		}
		if len(ls) == pageRows {
			end = min(end, ls[len(ls)-1].seq+1)
		}
		for len(vs) > 0 && vs[len(vs)-1].seq >= end {
			vs = vs[:len(vs)-1]
		}
		for len(ls) > 0 && ls[len(ls)-1].seq >= end {
			ls = ls[:len(ls)-1]
		}
		mergeSpan(r, vs, ls)
		cur = end
	}
	return nil
}

// mergeSpan pairs versions and leaves by seq and reports what does not
// match.
func mergeSpan(r *Report, vs []versionRow, ls []leafRow) {
	events, queued := 0, 0
	for i, j := 0, 0; i < len(vs) || j < len(ls); {
		switch {
		case j == len(ls) || i < len(vs) && vs[i].seq < ls[j].seq:
			v := vs[i]
			if v.deleted {
				r.add(Deleted, "AuditEvent/%s was deleted (tombstone version %d)", v.id, v.version)
			} else {
				r.add(Unlogged, "AuditEvent/%s/_history/%d is not in the log", v.id, v.version)
			}
			events++
			i++
		case i == len(vs) || ls[j].seq < vs[i].seq || ls[j].id != vs[i].id || ls[j].version != vs[i].version:
			l := ls[j]
			where := "queued"
			if l.idx != nil {
				where = fmt.Sprintf("leaf %d", *l.idx)
			}
			r.add(Deleted, "%s names AuditEvent/%s/_history/%d, which is no longer stored as it was logged (seq %d)", where, l.id, l.version, l.seq)
			j++
		default:
			v, l := vs[i], ls[j]
			switch {
			case v.deleted:
				r.add(Deleted, "AuditEvent/%s/_history/%d, which the log holds, is now a tombstone", v.id, v.version)
			case !bytes.Equal(EntryFor(l.salt, v.body), l.entry):
				if l.idx == nil {
					r.add(Changed, "AuditEvent/%s/_history/%d (queued) differs from what was queued", v.id, v.version)
				} else {
					r.add(Changed, "AuditEvent/%s/_history/%d (leaf %d) differs from what was logged", v.id, v.version, *l.idx)
				}
			}
			if l.idx == nil {
				queued++
			}
			events++
			i, j = i+1, j+1
		}
	}
	r.mu.Lock()
	r.Events += events
	r.Queued += queued
	r.mu.Unlock()
}
