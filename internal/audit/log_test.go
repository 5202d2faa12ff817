package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"golang.org/x/mod/sumdb/note"

	"github.com/nhs-junction/junction/internal/store"
)

func TestLogFirstStart(t *testing.T) {
	forBackends(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		st := b.open(t)
		l := openLog(t, st)
		if !strings.HasPrefix(l.VerifierKey(), "test.example/log+") {
			t.Errorf("verifier key %q does not name the origin", l.VerifierKey())
		}
		v, err := note.NewVerifier(l.VerifierKey())
		if err != nil {
			t.Fatal(err)
		}
		cp, err := l.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n, err := note.Open(cp.Note, note.VerifierList(v))
		if err != nil {
			t.Fatalf("the empty tree's checkpoint does not verify: %v\n%s", err, cp.Note)
		}
		if want := "test.example/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"; n.Text != want {
			t.Errorf("empty checkpoint text %q, want %q (SHA-256 of the empty string)", n.Text, want)
		}
		// A restart keeps the key; another origin is refused.
		again := openLog(t, st)
		if again.VerifierKey() != l.VerifierKey() {
			t.Error("reopening made a new key")
		}
		if _, err := Open(ctx, st, Options{Origin: "other.example/log"}); err == nil {
			t.Error("a different origin was accepted for an existing log")
		}
		keep, err := Open(ctx, st, Options{})
		if err != nil || keep.Origin() != "test.example/log" {
			t.Errorf("Open without origin: %v, origin %q", err, keep.Origin())
		}
		if _, err := Open(ctx, st, Options{Origin: "has space"}); err == nil {
			t.Error("an origin with a space was accepted")
		}
	})
}

func TestLogProofs(t *testing.T) {
	forBackends(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		st := b.open(t)
		l := openLog(t, st)
		ids := writeEvents(t, st, "ae", 300, 37)
		cp1 := integrate(t, l)
		if cp1.Size != 300 {
			t.Fatalf("checkpoint size %d after 300 events", cp1.Size)
		}
		ids = append(ids, writeEvents(t, st, "be", 330, 100)...)
		cp2 := integrate(t, l)
		if cp2.Size != 630 {
			t.Fatalf("checkpoint size %d after 630 events", cp2.Size)
		}
		if _, err := OpenCheckpoint(cp2.Note, l.Verifier()); err != nil {
			t.Fatal(err)
		}
		// Every leaf's proof in the latest tree and in an older one, checked
		// with transparency-dev/merkle's verifier from the AuditEvent body.
		for i, id := range ids {
			if i%7 != 0 && i != len(ids)-1 {
				continue
			}
			p, err := l.Prove(ctx, id, 1)
			if err != nil {
				t.Fatalf("%s: %v", id, err)
			}
			body := readBody(t, st, id)
			if !bytes.Equal(EntryFor(p.Salt, body), p.Entry) {
				t.Fatalf("%s: the entry does not commit to the stored body", id)
			}
			if err := proof.VerifyInclusion(hasher, p.Index, p.Size, hasher.HashLeaf(p.Entry), p.Hashes, cp2.Root); err != nil {
				t.Errorf("%s (leaf %d): %v", id, p.Index, err)
			}
			if p.Index < 300 {
				path, root, err := l.InclusionProof(ctx, p.Index, 300)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(root, cp1.Root) {
					t.Fatalf("root of size 300 recomputed as %x, first checkpoint said %x", root, cp1.Root)
				}
				if err := proof.VerifyInclusion(hasher, p.Index, 300, hasher.HashLeaf(p.Entry), path, cp1.Root); err != nil {
					t.Errorf("%s in the tree of 300: %v", id, err)
				}
			}
		}
		for _, sz := range [][2]uint64{{1, 630}, {255, 256}, {256, 257}, {300, 630}, {511, 513}, {0, 630}, {630, 630}, {17, 0}} {
			c, err := l.ConsistencyProof(ctx, sz[0], sz[1])
			if err != nil {
				t.Fatalf("consistency %v: %v", sz, err)
			}
			if err := proof.VerifyConsistency(hasher, c.From, c.To, c.Hashes, c.FromRoot, c.ToRoot); err != nil {
				t.Errorf("consistency %d..%d: %v", c.From, c.To, err)
			}
			if c.To == 630 && !bytes.Equal(c.ToRoot, cp2.Root) || c.From == 300 && !bytes.Equal(c.FromRoot, cp1.Root) {
				t.Errorf("consistency %v: roots do not match the checkpoints", sz)
			}
		}
		for _, bad := range [][2]uint64{{2, 1}, {1, 631}} {
			if _, err := l.ConsistencyProof(ctx, bad[0], bad[1]); !errors.Is(err, ErrTreeSize) {
				t.Errorf("consistency %v: %v, want ErrTreeSize", bad, err)
			}
		}
		if _, _, err := l.InclusionProof(ctx, 630, 630); !errors.Is(err, ErrTreeSize) {
			t.Errorf("proof of leaf 630 in a tree of 630: %v", err)
		}
		if _, err := l.Prove(ctx, "nobody", 0); !errors.Is(err, ErrNotLogged) {
			t.Errorf("Prove of an unknown AuditEvent: %v", err)
		}
		writeEvents(t, st, "late", 1, 1)
		if _, err := l.Prove(ctx, "late-0", 0); !errors.Is(err, ErrPending) {
			t.Errorf("Prove of a queued AuditEvent: %v, want ErrPending", err)
		}
	})
}

func TestLogAppendInTransaction(t *testing.T) {
	forBackends(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		st := b.open(t)
		l := openLog(t, st)
		writeEvents(t, st, "q", 5, 5) // queued, not integrated
		var idx uint64
		err := st.Write(ctx, func(tx store.Tx) error {
			e := clinician()
			e.Interaction, e.BreakGlass = BreakGlass, "cardiac arrest"
			v, err := tx.Put(ctx, store.Version{Type: "AuditEvent", ID: "bg", Version: 1, Body: Event(e)})
			if err != nil {
				return err
			}
			idx, err = l.Append(ctx, tx, v)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if idx != 0 {
			t.Errorf("the synchronous append got index %d, want 0 (ahead of the queue)", idx)
		}
		// A rolled-back Append leaves nothing behind.
		boom := errors.New("boom")
		err = st.Write(ctx, func(tx store.Tx) error {
			v, err := tx.Put(ctx, store.Version{Type: "AuditEvent", ID: "gone", Version: 1, Body: []byte(`{"resourceType":"AuditEvent"}`)})
			if err != nil {
				return err
			}
			if _, err := l.Append(ctx, tx, v); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		cp := integrate(t, l)
		if cp.Size != 6 {
			t.Fatalf("size %d, want 6", cp.Size)
		}
		p, err := l.Prove(ctx, "bg", 1)
		if err != nil || p.Index != 0 {
			t.Fatalf("Prove(bg) = %+v, %v", p, err)
		}
		if rep := verifyStore(t, st, nil); !rep.OK() {
			t.Errorf("verify: %v", rep.Problems)
		}
	})
}

// TestLogConcurrentWriters queues AuditEvents from many writers while
// integrators run in parallel: every event ends up exactly once in a
// contiguous tree, and no writer waited on a lock of the log.
func TestLogConcurrentWriters(t *testing.T) {
	forBackends(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		st := b.open(t)
		l := openLog(t, st)
		l2 := openLog(t, st) // a second process's integrator
		runCtx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for _, lg := range []*Log{l, l2} {
			wg.Add(1)
			go func() { defer wg.Done(); lg.Run(runCtx) }()
		}
		var writers sync.WaitGroup
		for w := 0; w < 8; w++ {
			writers.Add(1)
			go func() {
				defer writers.Done()
				writeEvents(t, st, fmt.Sprintf("w%d", w), 60, 3)
			}()
		}
		writers.Wait()
		stop()
		wg.Wait()
		cp := integrate(t, l)
		if cp.Size != 480 {
			t.Fatalf("size %d, want 480", cp.Size)
		}
		if rep := verifyStore(t, st, nil); !rep.OK() {
			t.Errorf("verify: %v", rep.Problems)
		}
	})
}

func readBody(t testing.TB, st store.Store, id string) []byte {
	t.Helper()
	v, err := st.ReadVersion(context.Background(), "AuditEvent", id, 1)
	if err != nil {
		t.Fatal(err)
	}
	return v.Body
}
