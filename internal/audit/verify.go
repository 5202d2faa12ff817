package audit

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/transparency-dev/merkle/compact"
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

func (r *Report) add(max int, k Kind, format string, args ...any) {
	n := 0
	for _, p := range r.Problems {
		if p.Kind == k {
			n++
		}
	}
	if n >= max {
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
	max := opts.MaxProblems
	r := &Report{}
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
				r.add(max, KeyProblem, "the database holds no log key; the trusted key is %s", opts.Key)
			} else {
				r.add(max, KeyProblem, "the database's log key %s is not the trusted key %s: it was replaced", vkey, opts.Key)
			}
		}
		r.Key = opts.Key
	}
	var verifier note.Verifier
	if r.Key != "" {
		v, err := note.NewVerifier(r.Key)
		if err != nil {
			r.add(max, KeyProblem, "the verifier key %q is unusable: %v", r.Key, err)
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
			r.add(max, KeyProblem, "the log has a key but no checkpoint")
		}
	} else if verifier != nil {
		c, err := OpenCheckpoint(msg, verifier)
		if err != nil {
			r.add(max, KeyProblem, "the database's checkpoint does not verify with %s: %v", r.Key, err)
		} else {
			cp, r.Checkpoint = &c, &c
		}
	}
	var saved *Checkpoint
	if len(opts.Saved) > 0 {
		if verifier == nil {
			r.add(max, KeyProblem, "the saved checkpoint cannot be checked: no usable key")
		} else if c, err := OpenCheckpoint(opts.Saved, verifier); err != nil {
			r.add(max, KeyProblem, "the saved checkpoint does not verify with the log's key %s (%v): the key or the log was replaced", r.Key, err)
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

	// Pass 1: the leaves in index order, each with the AuditEvent it names.
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
	err := db.QueryShared(ctx, "SELECT l.idx, l.ae_id, l.ae_version, l.salt, l.entry, v.deleted, v.body FROM audit_leaf l "+
		"LEFT JOIN resource_version v ON v.type = 'AuditEvent' AND v.id = l.ae_id AND v.version = l.ae_version "+
		"WHERE l.idx IS NOT NULL ORDER BY l.idx", nil, func(scan func(...any) error) error {
		var idx, version int64
		var id string
		var salt, entry, body []byte
		var deleted *bool
		if err := scan(&idx, &id, &version, &salt, &entry, &deleted, &body); err != nil {
			return err
		}
		if idx != lastIdx+1 {
			gap = true
			if idx-1 == lastIdx+1 {
				r.add(max, Deleted, "leaf %d is missing from the log", idx-1)
			} else {
				r.add(max, Deleted, "leaves %d to %d are missing from the log", lastIdx+1, idx-1)
			}
		}
		lastIdx = idx
		switch {
		case deleted == nil:
			r.add(max, Deleted, "leaf %d names AuditEvent/%s/_history/%d, which is no longer stored", idx, id, version)
		case *deleted:
			r.add(max, Deleted, "leaf %d names AuditEvent/%s/_history/%d, which is now a tombstone", idx, id, version)
		case !bytes.Equal(EntryFor(salt, body), entry):
			r.add(max, Changed, "AuditEvent/%s/_history/%d (leaf %d) differs from what was logged", id, version, idx)
		}
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
			r.add(max, Tiles, "tile %d/%d does not match the stored leaves", k.level, k.index)
		}
	}

	if cp != nil {
		switch {
		case cp.Size > r.Leaves:
			r.add(max, Deleted, "the checkpoint signed %d leaves, the database holds %d", cp.Size, r.Leaves)
		case gap:
			// Reported above; every later leaf is shifted, so comparing
			// them one by one would only repeat it.
		case !bytes.Equal(cpRoot, cp.Root):
			if err := diagnose(ctx, db, w, badTiles, r, max); err != nil {
				return nil, err
			}
			if len(badTiles) == 0 {
				r.add(max, Rewritten, "the tree of %d leaves recomputed from the database has root %x, the signed checkpoint says %x; leaves and tiles were rewritten together", cp.Size, cpRoot, cp.Root)
			}
		}
	}
	if saved != nil {
		switch {
		case saved.Size > r.Leaves:
			r.add(max, Fork, "the log holds %d leaves, fewer than the %d of the saved checkpoint: its history was rewritten", r.Leaves, saved.Size)
		case !bytes.Equal(savedRoot, saved.Root):
			r.add(max, Fork, "the log's tree of %d leaves has root %x, but the saved checkpoint signed %x: its history was rewritten", saved.Size, savedRoot, saved.Root)
		}
	}
	// The state follows the leaves; it is reported on its own only when
	// nothing else explains a difference.
	if len(r.Problems) == 0 && (uint64(stateSize) > r.Leaves || !bytes.Equal(stateRange, stateEdge)) {
		r.add(max, State, "the integrator's state (size %d) does not match the stored leaves", stateSize)
	}

	// AuditEvent versions without a leaf, or still queued.
	err = db.QueryShared(ctx, "SELECT v.id, v.version, v.deleted, v.body, l.ae_id, l.salt, l.entry FROM resource_version v "+
		"LEFT JOIN audit_leaf l ON l.ae_id = v.id AND l.ae_version = v.version "+
		"WHERE v.type = 'AuditEvent' AND (l.ae_id IS NULL OR l.idx IS NULL)", nil, func(scan func(...any) error) error {
		var id string
		var version int64
		var deleted bool
		var body, salt, entry []byte
		var leaf *string
		if err := scan(&id, &version, &deleted, &body, &leaf, &salt, &entry); err != nil {
			return err
		}
		switch {
		case leaf != nil:
			r.Queued++
			if !bytes.Equal(EntryFor(salt, body), entry) {
				r.add(max, Changed, "AuditEvent/%s/_history/%d (queued) differs from what was queued", id, version)
			}
		case deleted:
			r.add(max, Deleted, "AuditEvent/%s was deleted (tombstone version %d)", id, version)
		default:
			r.add(max, Unlogged, "AuditEvent/%s/_history/%d is not in the log", id, version)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("audit: read the AuditEvents: %w", err)
	}
	if err := db.QueryShared(ctx, "SELECT count(*) FROM resource_version WHERE type = 'AuditEvent'", nil, func(scan func(...any) error) error {
		return scan(&r.Events)
	}); err != nil {
		return nil, fmt.Errorf("audit: count the AuditEvents: %w", err)
	}
	return r, nil
}

// treeWalk recomputes the tree leaf by leaf and keeps what checking the
// tiles needs: the hashes of every tile level above 0 (1/255 of the
// tree), and the leaf hashes of the last, partial level-0 tile.
type treeWalk struct {
	rng   *compact.Range
	upper [][][]byte // upper[L-1] are the level-8L node hashes, L >= 1
	last  [][]byte   // leaf hashes since the last full level-0 tile
}

func newTreeWalk() *treeWalk { return &treeWalk{rng: ranges.NewEmptyRange(0)} }

func (w *treeWalk) append(leaf []byte) error {
	if len(w.last) == tileWidth {
		w.last = w.last[:0]
	}
	w.last = append(w.last, leaf)
	return w.rng.Append(leaf, func(id compact.NodeID, hash []byte) {
		if id.Level > 0 && id.Level%TileHeight == 0 {
			L := int(id.Level / TileHeight)
			for len(w.upper) < L {
				w.upper = append(w.upper, nil)
			}
			w.upper[L-1] = append(w.upper[L-1], hash)
		}
	})
}

// expected returns the hashes tile (level, index) must hold for the
// recomputed tree, or nil when that tile's hashes are not all known
// (a full level-0 tile: checked through its root, one level up).
func (w *treeWalk) expected(level int, index uint64) ([][]byte, bool) {
	n := w.rng.End()
	if level == 0 {
		if index == n/tileWidth && n%tileWidth != 0 {
			return w.last[:n%tileWidth], true
		}
		return nil, false
	}
	if level-1 >= len(w.upper) {
		return nil, true
	}
	hashes := w.upper[level-1]
	start := index * tileWidth
	if start >= uint64(len(hashes)) {
		return nil, true
	}
	return hashes[start:min(uint64(len(hashes)), start+tileWidth)], true
}

// checkTiles compares the stored tiles with the recomputed tree, up to
// its size, and returns the tiles that differ.
func (w *treeWalk) checkTiles(ctx context.Context, db DB) ([]tileKey, error) {
	n := w.rng.End()
	var bad []tileKey
	seen := map[int]uint64{} // tiles per level seen
	err := db.QueryShared(ctx, "SELECT level, idx, hashes FROM audit_tile ORDER BY level, idx", nil, func(scan func(...any) error) error {
		var level, idx int64
		var data []byte
		if err := scan(&level, &idx, &data); err != nil {
			return err
		}
		k := tileKey{int(level), uint64(idx)}
		seen[k.level]++
		// How many hashes of this tile the recomputed tree has.
		var have uint64
		if span := levelSize(n, k.level); span > k.index*tileWidth {
			have = min(tileWidth, span-k.index*tileWidth)
		}
		if have == 0 {
			return nil // beyond the leaves read: integrated meanwhile, or a deleted tail (reported elsewhere)
		}
		if uint64(len(data)) < have*hashSize || len(data)%hashSize != 0 {
			bad = append(bad, k)
			return nil
		}
		data = data[:have*hashSize]
		if want, ok := w.expected(k.level, k.index); ok {
			if !bytes.Equal(data, bytes.Join(want, nil)) {
				bad = append(bad, k)
			}
			return nil
		}
		// A full level-0 tile: its root is entry index%256 of level 1.
		root := subtreeRoot(data)
		if uint64(len(w.upper)) == 0 || k.index >= uint64(len(w.upper[0])) || !bytes.Equal(root, w.upper[0][k.index]) {
			bad = append(bad, k)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("audit: read the tiles: %w", err)
	}
	for level := 0; levelSize(n, level) > 0; level++ {
		want := (levelSize(n, level) + tileWidth - 1) / tileWidth
		if seen[level] < want {
			bad = append(bad, tileKey{level, seen[level]})
		}
	}
	return bad, nil
}

// levelSize is how many complete subtrees of 256^level leaves a tree of
// n leaves has: the hashes of tile level `level`.
func levelSize(n uint64, level int) uint64 {
	for i := 0; i < level; i++ {
		n /= tileWidth
	}
	return n
}

// subtreeRoot returns the Merkle Tree Hash of a full tile's 256 hashes.
func subtreeRoot(data []byte) []byte {
	level := make([][]byte, 0, tileWidth)
	for i := 0; i < len(data); i += hashSize {
		level = append(level, data[i:i+hashSize])
	}
	for len(level) > 1 {
		next := level[:0:0]
		for i := 0; i < len(level); i += 2 {
			next = append(next, hasher.HashChildren(level[i], level[i+1]))
		}
		level = next
	}
	return level[0]
}

// diagnose names what changed when the recomputed root differs from the
// signed one, by comparing the leaves with the level-0 tiles the log
// published when it integrated them: a leaf whose hash the tiles show at
// another mismatched index was moved (reordered); one found nowhere was
// changed.
func diagnose(ctx context.Context, db DB, w *treeWalk, bad []tileKey, r *Report, max int) error {
	type pos struct {
		index         uint64
		actual, tiled []byte
	}
	var diffs []pos
	for _, k := range bad {
		if k.level != 0 || len(diffs) > 4096 {
			continue
		}
		tiled, err := readTile(ctx, db, 0, k.index)
		if err != nil {
			return err
		}
		start := k.index * tileWidth
		err = db.QueryShared(ctx, "SELECT idx, entry FROM audit_leaf WHERE idx >= ? AND idx < ? ORDER BY idx",
			[]any{int64(start), int64(start + tileWidth)}, func(scan func(...any) error) error {
				var idx int64
				var entry []byte
				if err := scan(&idx, &entry); err != nil {
					return err
				}
				off := (uint64(idx) - start) * hashSize
				if off+hashSize > uint64(len(tiled)) {
					return nil
				}
				if actual := hasher.HashLeaf(entry); !bytes.Equal(actual, tiled[off:off+hashSize]) {
					diffs = append(diffs, pos{uint64(idx), actual, tiled[off : off+hashSize]})
				}
				return nil
			})
		if err != nil {
			return fmt.Errorf("audit: diagnose: %w", err)
		}
	}
	published := map[string]uint64{}
	for _, d := range diffs {
		published[string(d.tiled)] = d.index
	}
	var moved []string
	for _, d := range diffs {
		if from, ok := published[string(d.actual)]; ok {
			moved = append(moved, fmt.Sprintf("%d (logged at %d)", d.index, from))
			continue
		}
		r.add(max, Changed, "leaf %d differs from the hash the log published for it", d.index)
	}
	if len(moved) > 0 {
		r.add(max, Reordered, "leaves %s hold entries the log published at other indices", strings.Join(moved, ", "))
	}
	return nil
}
