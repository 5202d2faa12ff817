package audit

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

// Tiles as c2sp.org/tlog-tiles defines them: the tile at level L, index N
// holds up to 256 consecutive hashes of the tree's level 8L, the Merkle
// Tree Hashes of D[(N*256+i)*256^L : (N*256+i+1)*256^L]. Level 0 holds the
// leaf hashes. Each is one audit_tile row; the right-most tile of each
// level grows as leaves are integrated, and any prefix of it is the
// partial tile of that width.

type tileKey struct {
	level int
	index uint64
}

// tileWriter collects the hashes one integration adds to tiles, reading
// each touched tile once and writing it once.
type tileWriter struct {
	ex    Execer
	dirty map[tileKey][]byte
	order []tileKey
}

// add appends hash as entry node%256 of tile (level, node/256).
func (w *tileWriter) add(ctx context.Context, level int, node uint64, hash []byte) error {
	k := tileKey{level, node / tileWidth}
	data, ok := w.dirty[k]
	if !ok {
		var err error
		if data, err = readTile(ctx, w.ex, level, k.index); err != nil {
			return err
		}
		w.order = append(w.order, k)
	}
	if off := int(node % tileWidth); len(data) != off*hashSize {
		return fmt.Errorf("audit: tile %d/%d holds %d hashes where hash %d is next: the stored tiles do not match the tree", level, k.index, len(data)/hashSize, off)
	}
	w.dirty[k] = append(data, hash...)
	return nil
}

func (w *tileWriter) flush(ctx context.Context) error {
	for _, k := range w.order {
		if err := w.ex.ExecShared(ctx, "INSERT INTO audit_tile (level, idx, hashes) VALUES (?, ?, ?) ON CONFLICT (level, idx) DO UPDATE SET hashes = excluded.hashes",
			k.level, int64(k.index), w.dirty[k]); err != nil {
			return fmt.Errorf("audit: write tile %d/%d: %w", k.level, k.index, err)
		}
	}
	return nil
}

// readTile returns the stored hashes of tile (level, index), nil when
// there is none yet.
func readTile(ctx context.Context, db DB, level int, index uint64) ([]byte, error) {
	var data []byte
	err := db.QueryShared(ctx, "SELECT hashes FROM audit_tile WHERE level = ? AND idx = ?", []any{level, int64(index)}, func(scan func(...any) error) error {
		return scan(&data)
	})
	if err != nil {
		return nil, fmt.Errorf("audit: read tile %d/%d: %w", level, index, err)
	}
	return data, nil
}

// readBundle returns the entry bundle of leaves [n*256, n*256+width)
// (c2sp.org/tlog-tiles "Log entries"): each entry preceded by its length
// as a big-endian uint16. It returns nil when fewer leaves are stored.
func readBundle(ctx context.Context, db DB, n uint64, width int) ([]byte, error) {
	start := n * tileWidth
	out := make([]byte, 0, width*(2+hashSize))
	count := 0
	err := db.QueryShared(ctx, "SELECT entry FROM audit_leaf WHERE idx >= ? AND idx < ? ORDER BY idx", []any{int64(start), int64(start) + int64(width)},
		func(scan func(...any) error) error {
			var e []byte
			if err := scan(&e); err != nil {
				return err
			}
			out = binary.BigEndian.AppendUint16(out, uint16(len(e)))
			out = append(out, e...)
			count++
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("audit: read entry bundle %d: %w", n, err)
	}
	if count < width {
		return nil, nil
	}
	return out, nil
}

// tileReader gives tlog the stored tiles (tlog.TileReader). tlog checks
// every tile it reads against the tree hash it was given, so a proof
// built through it is made only from hashes proven to be in the signed
// tree.
type tileReader struct {
	ctx context.Context
	db  DB
}

func (r tileReader) Height() int { return TileHeight }

func (r tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		if t.H != TileHeight || t.L < 0 {
			return nil, fmt.Errorf("audit: no tile %v", t)
		}
		data, err := readTile(r.ctx, r.db, t.L, uint64(t.N))
		if err != nil {
			return nil, err
		}
		if len(data) < t.W*hashSize {
			return nil, fmt.Errorf("audit: tile %d/%d holds %d hashes, the signed tree needs %d", t.L, t.N, len(data)/hashSize, t.W)
		}
		out[i] = data[:t.W*hashSize]
	}
	return out, nil
}

func (r tileReader) SaveTiles([]tlog.Tile, [][]byte) {}

var errTilePath = errors.New("audit: not a tile path")

// parseTilePath parses a path of c2sp.org/tlog-tiles below the log's
// prefix: "tile/<L>/<N>[.p/<W>]" or "tile/entries/<N>[.p/<W>]". It
// returns level -1 for an entry bundle, and width 0 for a full tile. Only
// the one canonical spelling of each tile is accepted: L without leading
// zeros and at most 63, N in zero-padded 3-digit elements all but the
// last starting with x and without a leading all-zero element, W from 1
// to 255 without leading zeros.
func parseTilePath(p string) (level int, n uint64, width int, err error) {
	rest, ok := strings.CutPrefix(p, "tile/")
	if !ok {
		return 0, 0, 0, errTilePath
	}
	l, rest, ok := strings.Cut(rest, "/")
	if !ok {
		return 0, 0, 0, errTilePath
	}
	if l == "entries" {
		level = -1
	} else if level, ok = smallDecimal(l, 63); !ok {
		return 0, 0, 0, errTilePath
	}
	if i := strings.Index(rest, ".p/"); i >= 0 {
		if width, ok = smallDecimal(rest[i+3:], tileWidth-1); !ok || width == 0 {
			return 0, 0, 0, errTilePath
		}
		rest = rest[:i]
	}
	elems := strings.Split(rest, "/")
	if len(elems) > 7 { // 2^64 has 20 digits: at most 7 elements
		return 0, 0, 0, errTilePath
	}
	for i, e := range elems {
		last := i == len(elems)-1
		if !last {
			if e, ok = strings.CutPrefix(e, "x"); !ok {
				return 0, 0, 0, errTilePath
			}
		}
		if len(e) != 3 || e[0] < '0' || e[0] > '9' || e[1] < '0' || e[1] > '9' || e[2] < '0' || e[2] > '9' {
			return 0, 0, 0, errTilePath
		}
		if i == 0 && !last && e == "000" {
			return 0, 0, 0, errTilePath
		}
		d := uint64(e[0]-'0')*100 + uint64(e[1]-'0')*10 + uint64(e[2]-'0')
		if n > (^uint64(0)-d)/1000 {
			return 0, 0, 0, errTilePath
		}
		n = n*1000 + d
	}
	return level, n, width, nil
}

// smallDecimal parses a decimal number no greater than max, without sign
// or leading zeros.
func smallDecimal(s string, max int) (int, bool) {
	if s == "" || len(s) > 3 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 || v > max || strconv.Itoa(v) != s {
		return 0, false
	}
	return v, true
}

// tilePath returns the path of a tile (level -1: entry bundle) of width
// w (0 or 256: full), the inverse of parseTilePath.
func tilePath(level int, n uint64, w int) string {
	var b strings.Builder
	b.WriteString("tile/")
	if level < 0 {
		b.WriteString("entries")
	} else {
		b.WriteString(strconv.Itoa(level))
	}
	var groups []string
	for {
		groups = append(groups, fmt.Sprintf("%03d", n%1000))
		n /= 1000
		if n == 0 {
			break
		}
	}
	for i := len(groups) - 1; i >= 0; i-- {
		b.WriteByte('/')
		if i > 0 {
			b.WriteByte('x')
		}
		b.WriteString(groups[i])
	}
	if w > 0 && w < tileWidth {
		b.WriteString(".p/")
		b.WriteString(strconv.Itoa(w))
	}
	return b.String()
}
