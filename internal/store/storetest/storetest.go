// Package storetest is the one behavioural suite every store.Store backend
// must pass, so that SQLite and PostgreSQL cannot drift apart.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nhs-junction/junction/internal/store"
)

// Open opens the database that belongs to t. The first call for a given t
// MUST start from an empty database; later calls with the same t, possibly
// concurrent, MUST open that same database again, as a second process
// would. Open reports failure with t.Fatal and may be called from several
// subtests at once. The suite closes every store it opens.
type Open func(t *testing.T) store.Store

// Run runs the whole suite against the backend that open returns.
func Run(t *testing.T, open Open) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open Open)
	}{
		{"ReadMissing", testReadMissing},
		{"ReadWhere", testReadWhere},
		{"PutThenRead", testPutThenRead},
		{"Versions", testVersions},
		{"VersionConflict", testVersionConflict},
		{"Atomicity", testAtomicity},
		{"TxAfterWrite", testTxAfterWrite},
		{"ConcurrentWriters", testConcurrentWriters},
		{"Now", testNow},
		{"BodyBytes", testBodyBytes},
		{"History", testHistory},
		{"HistoryPagingStable", testHistoryPagingStable},
		{"HistoryInvalid", testHistoryInvalid},
		{"PingClose", testPingClose},
		{"Reopen", testReopen},
		{"ConcurrentOpen", testConcurrentOpen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, closing(open))
		})
	}
}

// closing wraps open so that every store is closed when its test ends; a
// store the test already closed answers ErrClosed, which is expected.
func closing(open Open) Open {
	return func(t *testing.T) store.Store {
		s := open(t)
		if s == nil {
			t.Fatal("open returned nil")
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
				t.Errorf("Close: %v", err)
			}
		})
		return s
	}
}

// body returns a small resource JSON for typ/id at version.
func body(typ, id string, version int64) []byte {
	return fmt.Appendf(nil, `{"resourceType":%q,"id":%q,"meta":{"versionId":"%d"}}`, typ, id, version)
}

// put writes one version in its own transaction and fails the test on error.
func put(t *testing.T, s store.Store, typ, id string, version int64, deleted bool) store.Version {
	t.Helper()
	var got store.Version
	err := s.Write(context.Background(), func(tx store.Tx) error {
		v := store.Version{Type: typ, ID: id, Version: version, Deleted: deleted}
		if !deleted {
			v.Body = body(typ, id, version)
		}
		var err error
		got, err = tx.Put(context.Background(), v)
		return err
	})
	if err != nil {
		t.Fatalf("Put %s/%s v%d: %v", typ, id, version, err)
	}
	return got
}

func equalVersion(t *testing.T, what string, got, want store.Version) {
	t.Helper()
	if got.Type != want.Type || got.ID != want.ID || got.Version != want.Version ||
		!got.LastUpdated.Equal(want.LastUpdated) || got.Deleted != want.Deleted ||
		!bytes.Equal(got.Body, want.Body) || got.Seq != want.Seq {
		t.Errorf("%s:\n got %s\nwant %s", what, show(got), show(want))
	}
	if got.LastUpdated.Location() != time.UTC {
		t.Errorf("%s: LastUpdated in %v, want UTC", what, got.LastUpdated.Location())
	}
	if got.Deleted && got.Body != nil {
		t.Errorf("%s: tombstone with body %q", what, got.Body)
	}
}

func show(v store.Version) string {
	return fmt.Sprintf("%s/%s v%d seq=%d at=%s deleted=%v body=%q",
		v.Type, v.ID, v.Version, v.Seq, v.LastUpdated.Format(time.RFC3339Nano), v.Deleted, v.Body)
}

func testReadMissing(t *testing.T, open Open) {
	s := open(t)
	ctx := context.Background()
	if _, err := s.Read(ctx, "Patient", "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Read missing: %v, want ErrNotFound", err)
	}
	if _, err := s.ReadVersion(ctx, "Patient", "nobody", 1); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ReadVersion missing: %v, want ErrNotFound", err)
	}
	put(t, s, "Patient", "p1", 1, false)
	if _, err := s.ReadVersion(ctx, "Patient", "p1", 2); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ReadVersion of a version not written: %v, want ErrNotFound", err)
	}
	// The same id under another type is another resource.
	if _, err := s.Read(ctx, "Observation", "p1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Read other type: %v, want ErrNotFound", err)
	}
	err := s.Write(ctx, func(tx store.Tx) error {
		if _, err := tx.Current(ctx, "Patient", "nobody"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Current missing: %v, want ErrNotFound", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testPutThenRead(t *testing.T, open Open) {
	s := open(t)
	ctx := context.Background()
	var want store.Version
	err := s.Write(ctx, func(tx store.Tx) error {
		v, err := tx.Put(ctx, store.Version{Type: "Patient", ID: "p1", Version: 1, Body: body("Patient", "p1", 1)})
		if err != nil {
			return err
		}
		if v.Seq <= 0 {
			t.Errorf("Put returned Seq %d", v.Seq)
		}
		if !v.LastUpdated.Equal(tx.Now()) {
			t.Errorf("Put LastUpdated %v, want tx.Now() %v", v.LastUpdated, tx.Now())
		}
		cur, err := tx.Current(ctx, "Patient", "p1")
		if err != nil {
			return err
		}
		equalVersion(t, "Current after Put in the same tx", cur, v)
		want = v
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Read(ctx, "Patient", "p1")
	if err != nil {
		t.Fatal(err)
	}
	equalVersion(t, "Read", got, want)
	got, err = s.ReadVersion(ctx, "Patient", "p1", 1)
	if err != nil {
		t.Fatal(err)
	}
	equalVersion(t, "ReadVersion", got, want)
}

func testVersions(t *testing.T, open Open) {
	s := open(t)
	ctx := context.Background()
	var written []store.Version
	for v := int64(1); v <= 3; v++ {
		written = append(written, put(t, s, "Patient", "p1", v, false))
	}
	written = append(written, put(t, s, "Patient", "p1", 4, true))
	for i := 1; i < len(written); i++ {
		if written[i].Seq <= written[i-1].Seq {
			t.Errorf("seq did not grow: %d then %d", written[i-1].Seq, written[i].Seq)
		}
		if !written[i].LastUpdated.After(written[i-1].LastUpdated) {
			t.Errorf("LastUpdated did not grow: %v then %v", written[i-1].LastUpdated, written[i].LastUpdated)
		}
	}
	cur, err := s.Read(ctx, "Patient", "p1")
	if err != nil {
		t.Fatalf("Read tombstone: %v, want nil error", err)
	}
	if !cur.Deleted {
		t.Errorf("Read after delete: not a tombstone")
	}
	equalVersion(t, "Read tombstone", cur, written[3])
	for _, w := range written {
		got, err := s.ReadVersion(ctx, "Patient", "p1", w.Version)
		if err != nil {
			t.Fatalf("ReadVersion %d: %v", w.Version, err)
		}
		equalVersion(t, fmt.Sprintf("ReadVersion %d", w.Version), got, w)
	}
	// A deleted resource can be written again; its history continues.
	again := put(t, s, "Patient", "p1", 5, false)
	cur, err = s.Read(ctx, "Patient", "p1")
	if err != nil {
		t.Fatal(err)
	}
	equalVersion(t, "Read after re-create", cur, again)
}

func testVersionConflict(t *testing.T, open Open) {
	s := open(t)
	ctx := context.Background()
	put(t, s, "Patient", "p1", 1, false)
	for _, tc := range []struct {
		name    string
		id      string
		version int64
	}{
		{"same version again", "p1", 1},
		{"skipping a version", "p1", 3},
		{"new resource not at 1", "p2", 2},
	} {
		err := s.Write(ctx, func(tx store.Tx) error {
			_, err := tx.Put(ctx, store.Version{Type: "Patient", ID: tc.id, Version: tc.version, Body: body("Patient", tc.id, tc.version)})
			return err
		})
		if !errors.Is(err, store.ErrVersionConflict) {
			t.Errorf("%s: %v, want ErrVersionConflict", tc.name, err)
		}
	}
	// A conflict does not spoil the transaction: the caller may recover
	// (a conditional create that finds the resource, say) and go on.
	err := s.Write(ctx, func(tx store.Tx) error {
		if _, err := tx.Put(ctx, store.Version{Type: "Patient", ID: "p1", Version: 1, Body: body("Patient", "p1", 1)}); !errors.Is(err, store.ErrVersionConflict) {
			t.Errorf("Put stale: %v, want ErrVersionConflict", err)
		}
		_, err := tx.Put(ctx, store.Version{Type: "Patient", ID: "p1", Version: 2, Body: body("Patient", "p1", 2)})
		return err
	})
	if err != nil {
		t.Fatalf("Put after a conflict in the same tx: %v", err)
	}
	if got, err := s.Read(ctx, "Patient", "p1"); err != nil || got.Version != 2 {
		t.Errorf("Read: v%d %v, want v2", got.Version, err)
	}
	// A Put that is not a conflict but malformed fails with another error.
	err = s.Write(ctx, func(tx store.Tx) error {
		_, err := tx.Put(ctx, store.Version{Type: "Patient", ID: "p1", Version: 3, LastUpdated: tx.Now().Add(-time.Hour), Body: body("Patient", "p1", 3)})
		return err
	})
	if err == nil || errors.Is(err, store.ErrVersionConflict) {
		t.Errorf("Put with LastUpdated not the tx clock: %v, want a non-conflict error", err)
	}
}

func testAtomicity(t *testing.T, open Open) {
	s := open(t)
	ctx := context.Background()
	before := put(t, s, "Patient", "p1", 1, false)
	boom := errors.New("boom")
	err := s.Write(ctx, func(tx store.Tx) error {
		for _, v := range []store.Version{
			{Type: "Patient", ID: "p1", Version: 2, Body: body("Patient", "p1", 2)},
			{Type: "Patient", ID: "p2", Version: 1, Body: body("Patient", "p2", 1)},
			{Type: "Observation", ID: "o1", Version: 1, Body: body("Observation", "o1", 1)},
		} {
			if _, err := tx.Put(ctx, v); err != nil {
				return err
			}
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Write: %v, want the function's error", err)
	}
	got, err := s.Read(ctx, "Patient", "p1")
	if err != nil {
		t.Fatal(err)
	}
	equalVersion(t, "Read after rolled-back update", got, before)
	if _, err := s.ReadVersion(ctx, "Patient", "p1", 2); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("rolled-back version readable: %v", err)
	}
	for _, k := range [][2]string{{"Patient", "p2"}, {"Observation", "o1"}} {
		if _, err := s.Read(ctx, k[0], k[1]); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("rolled-back create %s/%s: %v, want ErrNotFound", k[0], k[1], err)
		}
	}
	page, err := s.History(ctx, store.HistoryQuery{Count: 10, WithTotal: true})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 1 || len(page.Versions) != 1 {
		t.Errorf("history after rollback: total %d, %d versions, want 1", page.Total, len(page.Versions))
	}

	// A panic in fn rolls back too, and the store stays usable.
	func() {
		defer func() { _ = recover() }()
		_ = s.Write(ctx, func(tx store.Tx) error {
			if _, err := tx.Put(ctx, store.Version{Type: "Patient", ID: "p3", Version: 1, Body: body("Patient", "p3", 1)}); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	if _, err := s.Read(ctx, "Patient", "p3"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("create before a panic: %v, want ErrNotFound", err)
	}
	put(t, s, "Patient", "p1", 2, false)
}

func testTxAfterWrite(t *testing.T, open Open) {
	s := open(t)
	ctx := context.Background()
	var kept store.Tx
	if err := s.Write(ctx, func(tx store.Tx) error { kept = tx; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := kept.Put(ctx, store.Version{Type: "Patient", ID: "late", Version: 1, Body: body("Patient", "late", 1)}); err == nil {
		t.Errorf("Put on a finished Tx succeeded")
	}
	if _, err := s.Read(ctx, "Patient", "late"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Put on a finished Tx stored something: %v", err)
	}
}

// testConcurrentWriters runs read-modify-write loops on one resource from
// several goroutines: every successful Put must get its own version and
// none may be lost.
func testConcurrentWriters(t *testing.T, open Open) {
	const writers, updates = 8, 20
	s := open(t)
	ctx := context.Background()
	put(t, s, "Patient", "hot", 1, false)

	var mu sync.Mutex
	won := map[int64]int{}
	var failed []error
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for range updates {
				var stored int64
				err := s.Write(ctx, func(tx store.Tx) error {
					cur, err := tx.Current(ctx, "Patient", "hot")
					if err != nil {
						return err
					}
					next := cur.Version + 1
					v, err := tx.Put(ctx, store.Version{Type: "Patient", ID: "hot", Version: next,
						Body: fmt.Appendf(nil, `{"resourceType":"Patient","id":"hot","writer":%d}`, w)})
					stored = v.Version
					return err
				})
				mu.Lock()
				switch {
				case err == nil:
					won[stored]++
				case !errors.Is(err, store.ErrVersionConflict):
					failed = append(failed, err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, err := range failed {
		t.Errorf("Write: %v", err)
	}
	for v, n := range won {
		if n != 1 {
			t.Errorf("version %d acknowledged %d times", v, n)
		}
	}
	cur, err := s.Read(ctx, "Patient", "hot")
	if err != nil {
		t.Fatal(err)
	}
	if cur.Version != int64(len(won))+1 {
		t.Errorf("final version %d after %d successful updates, want %d", cur.Version, len(won), len(won)+1)
	}
	for v := int64(1); v <= cur.Version; v++ {
		if _, err := s.ReadVersion(ctx, "Patient", "hot", v); err != nil {
			t.Errorf("ReadVersion %d: %v", v, err)
		}
	}
	t.Logf("%d of %d updates succeeded", len(won), writers*updates)
}

func testNow(t *testing.T, open Open) {
	s := open(t)
	ctx := context.Background()
	var last time.Time
	for i := range 50 {
		err := s.Write(ctx, func(tx store.Tx) error {
			now := tx.Now()
			if now.Location() != time.UTC {
				t.Errorf("Now in %v, want UTC", now.Location())
			}
			if now.Nanosecond()%1000 != 0 {
				t.Errorf("Now %v finer than a microsecond", now)
			}
			if !now.After(last) {
				t.Errorf("Now went from %v to %v", last, now)
			}
			if !tx.Now().Equal(now) {
				t.Errorf("Now changed within one transaction")
			}
			last = now
			if i%10 == 0 {
				// Versions in one transaction share the clock.
				a, err := tx.Put(ctx, store.Version{Type: "Patient", ID: fmt.Sprint("a", i), Version: 1, Body: body("Patient", "a", 1)})
				if err != nil {
					return err
				}
				b, err := tx.Put(ctx, store.Version{Type: "Patient", ID: fmt.Sprint("b", i), Version: 1, LastUpdated: now, Body: body("Patient", "b", 1)})
				if err != nil {
					return err
				}
				if !a.LastUpdated.Equal(now) || !b.LastUpdated.Equal(now) {
					t.Errorf("versions in one tx at %v and %v, want %v", a.LastUpdated, b.LastUpdated, now)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(last); d < -time.Second || d > time.Minute {
		t.Errorf("Now %v is %v from the wall clock", last, d)
	}
}

func testBodyBytes(t *testing.T, open Open) {
	s := open(t)
	ctx := context.Background()
	bodies := []struct{ name, json string }{
		{"unicode", `{"resourceType":"Patient","name":[{"text":"Siân Ó Dónaill 患者 🩺"}]}`},
		{"escaped nul", `{"resourceType":"Basic","id":"x","text":"a\u0000b"}`},
		{"escapes kept as written", `{"resourceType":"Basic","note":"\u00e9 \/ \" \\ \n"}`},
		{"big decimal", `{"resourceType":"Observation","valueQuantity":{"value":1.000000000000000000001}}`},
		{"exponent and trailing zeros", `{"resourceType":"Observation","valueQuantity":{"value":1.50E+3,"x":0.000}}`},
		{"whitespace and key order", "{ \"resourceType\" : \"Basic\",\n\t\"z\":1, \"a\" :2 }"},
		{"large", `{"resourceType":"Binary","data":"` + string(bytes.Repeat([]byte("QUJD"), 200_000)) + `"}`},
	}
	for i, b := range bodies {
		id := fmt.Sprint("b", i)
		err := s.Write(ctx, func(tx store.Tx) error {
			_, err := tx.Put(ctx, store.Version{Type: "Basic", ID: id, Version: 1, Body: []byte(b.json)})
			return err
		})
		if err != nil {
			t.Fatalf("%s: %v", b.name, err)
		}
		got, err := s.Read(ctx, "Basic", id)
		if err != nil {
			t.Fatalf("%s: %v", b.name, err)
		}
		if !bytes.Equal(got.Body, []byte(b.json)) {
			n := min(len(got.Body), 200)
			t.Errorf("%s: body changed:\n got %q\nwant %q", b.name, got.Body[:n], b.json[:min(len(b.json), 200)])
		}
	}
}

func testHistoryInvalid(t *testing.T, open Open) {
	s := open(t)
	ctx := context.Background()
	for _, q := range []store.HistoryQuery{
		{Count: 0},
		{ID: "x", Count: 1},
		{Count: 1, Before: -1},
	} {
		if _, err := s.History(ctx, q); err == nil {
			t.Errorf("History(%+v) succeeded, want an error", q)
		}
	}
	page, err := s.History(ctx, store.HistoryQuery{Count: 5, WithTotal: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Versions) != 0 || page.More || page.Snapshot != 0 || page.Total != 0 {
		t.Errorf("empty store history: %+v", page)
	}
}

func testPingClose(t *testing.T, open Open) {
	s := open(t)
	ctx := context.Background()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	put(t, s, "Patient", "p1", 1, false)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	checks := map[string]error{
		"Ping":  s.Ping(ctx),
		"Close": s.Close(),
		"Write": s.Write(ctx, func(store.Tx) error { return nil }),
	}
	_, checks["Read"] = s.Read(ctx, "Patient", "p1")
	_, checks["ReadVersion"] = s.ReadVersion(ctx, "Patient", "p1", 1)
	_, checks["ReadWhere"] = s.ReadWhere(ctx, "Patient", "p1", 0, nil)
	_, checks["History"] = s.History(ctx, store.HistoryQuery{Count: 1})
	for name, err := range checks {
		if !errors.Is(err, store.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
}

func testReopen(t *testing.T, open Open) {
	s := open(t)
	ctx := context.Background()
	want := put(t, s, "Patient", "p1", 1, false)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Opening again finds the schema migrated and runs nothing twice.
	s = open(t)
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping after reopen: %v", err)
	}
	got, err := s.Read(ctx, "Patient", "p1")
	if err != nil {
		t.Fatal(err)
	}
	equalVersion(t, "Read after reopen", got, want)
	// The clock carries on from what is stored, not from a fresh process.
	next := put(t, s, "Patient", "p1", 2, false)
	if next.Seq <= want.Seq || !next.LastUpdated.After(want.LastUpdated) {
		t.Errorf("after reopen: seq %d at %v, before it seq %d at %v", next.Seq, next.LastUpdated, want.Seq, want.LastUpdated)
	}
}

func testConcurrentOpen(t *testing.T, open Open) {
	// Two stores migrating one fresh database at the same moment, as two
	// processes starting together would. open may call t.Fatal from these
	// goroutines; that marks the test failed and ends only the goroutine.
	const n = 3
	stores := make([]store.Store, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { stores[i] = open(t) })
	}
	wg.Wait()
	ctx := context.Background()
	for i, s := range stores {
		if s == nil {
			t.Fatalf("open %d failed", i)
		}
		if err := s.Ping(ctx); err != nil {
			t.Errorf("Ping %d: %v", i, err)
		}
	}
	v := put(t, stores[0], "Patient", "p1", 1, false)
	got, err := stores[n-1].Read(ctx, "Patient", "p1")
	if err != nil {
		t.Fatal(err)
	}
	equalVersion(t, "Read through the other store", got, v)
}
