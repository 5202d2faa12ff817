package audit

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/nhs-junction/junction/internal/store"
)

// TestTilesMatchTlog serves every tile of a log of more than 256^2
// leaves (three tile levels) and compares each with the tile
// golang.org/x/mod/sumdb/tlog computes from the same entries, at the
// current size and at the size of an earlier checkpoint; entry bundles
// must hash to the level-0 tiles.
func TestTilesMatchTlog(t *testing.T) {
	if testing.Short() {
		t.Skip("logs 66,000 leaves")
	}
	ctx := context.Background()
	st := sqliteBackend(t).open(t)
	l := openLog(t, st)
	const first, total = 65_536 - 77, 65_536 + 300 // sizes of the two checkpoints
	queueOnly(t, st, 0, first)
	integrate(t, l)
	queueOnly(t, st, first, total)
	if cp := integrate(t, l); cp.Size != total {
		t.Fatalf("size %d", cp.Size)
	}

	// The entries, independently of the tiles, hashed into tlog's own
	// stored-hash layout.
	var entries [][]byte
	if err := st.(DB).QueryShared(ctx, "SELECT entry FROM audit_leaf ORDER BY idx", nil, func(scan func(...any) error) error {
		var e []byte
		if err := scan(&e); err != nil {
			return err
		}
		entries = append(entries, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var stored []tlog.Hash
	hr := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = stored[x]
		}
		return out, nil
	})
	for i, e := range entries {
		hs, err := tlog.StoredHashes(int64(i), e, hr)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, hs...)
	}

	srv := httptest.NewServer(l.Handler())
	defer srv.Close()
	checked := 0
	for _, size := range []int64{first, total} {
		for _, tile := range tlog.NewTiles(TileHeight, 0, size) {
			want, err := tlog.ReadTileData(tile, hr)
			if err != nil {
				t.Fatal(err)
			}
			w := tile.W
			if w == tileWidth {
				w = 0
			}
			got := get(t, srv.URL+"/log/"+tilePath(tile.L, uint64(tile.N), w), http.StatusOK)
			if !bytes.Equal(got, want) {
				t.Fatalf("tile %v at size %d differs from tlog's", tile, size)
			}
			if tile.L == 0 {
				bundle := get(t, srv.URL+"/log/"+tilePath(-1, uint64(tile.N), w), http.StatusOK)
				var hashes []byte
				for len(bundle) > 0 {
					n := int(binary.BigEndian.Uint16(bundle))
					h := tlog.RecordHash(bundle[2 : 2+n])
					hashes = append(hashes, h[:]...)
					bundle = bundle[2+n:]
				}
				if !bytes.Equal(hashes, want) {
					t.Fatalf("entry bundle %d (width %d) does not hash to its tile", tile.N, tile.W)
				}
			}
			checked++
		}
	}
	if checked < 280 {
		t.Errorf("only %d tiles checked", checked)
	}
	// The root tlog computes is the one signed.
	th, err := tlog.TreeHash(total, hr)
	if err != nil {
		t.Fatal(err)
	}
	cp, _ := l.Checkpoint(ctx)
	if !bytes.Equal(th[:], cp.Root) {
		t.Errorf("tlog's root %x, signed root %x", th[:], cp.Root)
	}
}

// queueOnly queues leaves for AuditEvents [from, to) without storing the
// AuditEvents (which only Verify reads), as fast as the store allows.
func queueOnly(t testing.TB, st store.Store, from, to int) {
	t.Helper()
	ctx := context.Background()
	for i := from; i < to; {
		err := st.Write(ctx, func(tx store.Tx) error {
			for end := min(i+5000, to); i < end; i++ {
				id := fmt.Sprintf("t%d", i)
				v := store.Version{Type: "AuditEvent", ID: id, Version: 1, Seq: int64(i + 1), Body: []byte(`{"resourceType":"AuditEvent","id":"` + id + `"}`)}
				if err := Queue(ctx, tx, v); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func get(t testing.TB, url string, status int) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != status {
		t.Fatalf("GET %s: %d, want %d: %s", url, resp.StatusCode, status, b)
	}
	return b
}

func TestTilePath(t *testing.T) {
	tests := []struct {
		path         string
		level        int
		n            uint64
		width        int
		ok           bool
		formatsAgain bool
	}{
		{path: "tile/0/000", ok: true},
		{path: "tile/0/x001/x234/067", n: 1234067, ok: true},
		{path: "tile/entries/x001/x234/067.p/8", level: -1, n: 1234067, width: 8, ok: true},
		{path: "tile/63/999.p/255", level: 63, n: 999, width: 255, ok: true},
		{path: "tile/2/x018/446/744/073/709/551/615"}, // one element without x
		{path: "tile/2/x018/x446/x744/x073/x709/x551/615", level: 2, n: 18446744073709551615, ok: true},
		{path: "tile/2/x018/x446/x744/x073/x709/x551/616"}, // 2^64
		{path: "tile/0/1"},
		{path: "tile/0/x000/001"}, // leading zero element
		{path: "tile/00/000"},
		{path: "tile/64/000"},
		{path: "tile/0/000.p/0"},
		{path: "tile/0/000.p/256"},
		{path: "tile/0/000.p/08"},
		{path: "tile/0/000.p/"},
		{path: "tile/0/"},
		{path: "tile/0"},
		{path: "tile/-1/000"},
		{path: "tile/+1/000"},
		{path: "tile/data/000"},
		{path: "tiles/0/000"},
		{path: "tile/0/x001"},
		{path: "tile/0/00a"},
	}
	for _, tt := range tests {
		level, n, width, err := parseTilePath(tt.path)
		if (err == nil) != tt.ok {
			t.Errorf("parseTilePath(%q): err %v, want ok=%v", tt.path, err, tt.ok)
			continue
		}
		if !tt.ok {
			continue
		}
		if level != tt.level || n != tt.n || width != tt.width {
			t.Errorf("parseTilePath(%q) = %d, %d, %d; want %d, %d, %d", tt.path, level, n, width, tt.level, tt.n, tt.width)
		}
		if got := tilePath(level, n, width); got != tt.path {
			t.Errorf("tilePath(%d, %d, %d) = %q, want %q", level, n, width, got, tt.path)
		}
	}
}

// FuzzParseTilePath checks that the parser accepts exactly one spelling
// of each tile: whatever it accepts formats back to the same path.
func FuzzParseTilePath(f *testing.F) {
	for _, s := range []string{"tile/0/000", "tile/entries/x001/x234/067.p/8", "tile/63/999.p/255", "tile/0/x000/001", "tile/1/x1/2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		level, n, width, err := parseTilePath(p)
		if err != nil {
			return
		}
		if level < -1 || level > 63 || width < 0 || width > 255 {
			t.Fatalf("parseTilePath(%q) = %d, %d, %d out of range", p, level, n, width)
		}
		if got := tilePath(level, n, width); got != p {
			t.Fatalf("parseTilePath(%q) accepted a non-canonical path (canonical %q)", p, got)
		}
	})
}
