package audit

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/transparency-dev/merkle/compact"
)

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
func diagnose(ctx context.Context, db DB, w *treeWalk, bad []tileKey, r *Report) error {
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
		r.add(Changed, "leaf %d differs from the hash the log published for it", d.index)
	}
	if len(moved) > 0 {
		r.add(Reordered, "leaves %s hold entries the log published at other indices", strings.Join(moved, ", "))
	}
	return nil
}
