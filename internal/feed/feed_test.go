package feed_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/nhs-junction/junction/internal/access"
	"github.com/nhs-junction/junction/internal/app"
	"github.com/nhs-junction/junction/internal/config"
	"github.com/nhs-junction/junction/internal/feed"
	"github.com/nhs-junction/junction/internal/search"
	"github.com/nhs-junction/junction/internal/store"
	"github.com/nhs-junction/junction/internal/testenv"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "messages", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func list(t *testing.T, e *env, q feed.Query) []*feed.Record {
	t.Helper()
	recs, err := feed.List(context.Background(), e.st.DB(), q)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func versions(t *testing.T, e *env, typ string) int {
	t.Helper()
	page, err := e.st.History(context.Background(), store.HistoryQuery{Type: typ, Count: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(page.Versions)
}

// TestDuplicateRace sends one message on 8 connections at once: it is
// applied exactly once, every sender gets the same acknowledgement, and
// the repeats are logged as duplicates.
func TestDuplicateRace(t *testing.T) {
	for _, e := range backends(t, nil) {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			if out := e.feed.Process(ctx, fixture(t, "01-a28-register.hl7"), "t"); out.Status != feed.StatusApplied {
				t.Fatalf("register: %+v", out)
			}
			raw := fixture(t, "02-a01-admit.hl7")
			const n = 8
			outs := make([]feed.Outcome, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() { defer wg.Done(); outs[i] = e.feed.Process(ctx, raw, "t") }()
			}
			wg.Wait()
			applied := 0
			for i, o := range outs {
				if o.Status == feed.StatusApplied {
					applied++
				} else if o.Status != feed.StatusDuplicate {
					t.Errorf("sender %d: %s %v", i, o.Status, o.Err)
				}
				if o.Code != "AA" || !bytes.Equal(o.Ack, outs[0].Ack) && !bytes.Equal(o.Ack, firstAck(outs)) {
					t.Errorf("sender %d got %q", i, o.Ack)
				}
			}
			if applied != 1 {
				t.Errorf("applied %d times, want 1", applied)
			}
			if v := versions(t, e, "Encounter"); v != 1 {
				t.Errorf("Encounter has %d versions, want 1", v)
			}
			if got := list(t, e, feed.Query{ControlID: "PAS0002", Status: feed.StatusApplied}); len(got) != 1 {
				t.Errorf("%d applied rows", len(got))
			}
			if got := list(t, e, feed.Query{ControlID: "PAS0002", Status: feed.StatusDuplicate}); len(got) != n-1 {
				t.Errorf("%d duplicate rows, want %d", len(got), n-1)
			}
		})
	}
}

// firstAck is the acknowledgement of the applied outcome.
func firstAck(outs []feed.Outcome) []byte {
	for _, o := range outs {
		if o.Status == feed.StatusApplied {
			return o.Ack
		}
	}
	return nil
}

// TestErroredAndRejected: a well-formed message that cannot be applied is
// answered AE with ERR and kept raw with its error, and nothing of it is
// applied; unreadable input is answered AR and kept as rejected.
func TestErroredAndRejected(t *testing.T) {
	for _, e := range backends(t, nil) {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			raw := fixture(t, "20-bad-nhs-number.hl7")
			out := e.feed.Process(ctx, raw, "t")
			if out.Status != feed.StatusErrored || out.Code != "AE" || !bytes.Contains(out.Ack, []byte("\rERR|PID^1^3^102")) {
				t.Fatalf("bad NHS number: %s %s %q", out.Status, out.Code, out.Ack)
			}
			rec := list(t, e, feed.Query{ControlID: "PAS0020"})
			if len(rec) != 1 || !bytes.Equal(rec[0].Raw, raw) || rec[0].Status != feed.StatusErrored || !strings.Contains(rec[0].Error, "check digit") || rec[0].ErrorCode != "102" {
				t.Fatalf("stored: %+v", rec)
			}
			if v := versions(t, e, "Patient"); v != 0 {
				t.Errorf("%d Patient versions written for a refused message", v)
			}
			// The same message again gets the same AE and is not tried again.
			again := e.feed.Process(ctx, raw, "t")
			if again.Status != feed.StatusDuplicate || !bytes.Equal(again.Ack, out.Ack) {
				t.Errorf("resend: %s %q", again.Status, again.Ack)
			}
			for name, in := range map[string][]byte{
				"garbage":     []byte("\x00\x01 not hl7 at all"),
				"no MSH-10":   []byte("MSH|^~\\&|A|B|C|D|20250101||ADT^A01|||2.4\rPID|1||X^^^Y^MR\r"),
				"bad version": fixture(t, "23-unsupported-version.hl7"),
				"bad event":   fixture(t, "22-unsupported-event.hl7"),
				"huge segment": append([]byte("MSH|^~\\&|A|B|C|D|20250101||ADT^A01|HUGE1|P|2.4\rPID|1||"),
					bytes.Repeat([]byte("X"), 1<<20)...),
			} {
				out := e.feed.Process(ctx, in, "t")
				if out.Code != "AR" && out.Code != "AE" {
					t.Errorf("%s: %s %s", name, out.Status, out.Code)
				}
				if !bytes.Contains(out.Ack, []byte("MSA|A")) {
					t.Errorf("%s: no acknowledgement: %q", name, out.Ack)
				}
			}
			if got := list(t, e, feed.Query{Status: feed.StatusRejected}); len(got) < 4 {
				t.Errorf("%d rejected rows, want at least 4", len(got))
			}
		})
	}
}

// failingStore rolls back every write after its function succeeded, as a
// commit that fails would.
type failingStore struct{ *search.Engine }

var errCommit = errors.New("commit failed")

func (f failingStore) Write(ctx context.Context, fn func(store.Tx) error) error {
	return f.Engine.Write(ctx, func(tx store.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return errCommit
	})
}

// TestNoAAWithoutCommit: when the transaction does not commit, the sender
// gets AR (retry), never AA, and nothing (message or resource) is kept.
func TestNoAAWithoutCommit(t *testing.T) {
	ctx := context.Background()
	cfg := config.Config{Data: t.TempDir(), Validation: "base"}
	st, err := app.OpenStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	bad := failingStore{st}
	svc, err := app.NewService(ctx, bad, cfg)
	if err != nil {
		t.Fatal(err)
	}
	f, err := feed.New(feed.Options{Service: svc, Store: bad, DB: st.DB()})
	if err != nil {
		t.Fatal(err)
	}
	out := f.Process(ctx, fixture(t, "01-a28-register.hl7"), "t")
	if out.Code != "AR" || bytes.Contains(out.Ack, []byte("MSA|AA")) || bytes.Contains(out.Ack, []byte("MSA|CA")) {
		t.Fatalf("got %s %q", out.Code, out.Ack)
	}
	e := &env{st: st}
	if v := versions(t, e, "Patient"); v != 0 {
		t.Errorf("%d Patient versions kept", v)
	}
	if got := list(t, e, feed.Query{}); len(got) != 0 {
		t.Errorf("%d message rows kept", len(got))
	}
}

// TestReplay: results for a patient not yet known are errored; once the
// patient is registered, a replay applies them exactly once, even with
// two replays at once.
func TestReplay(t *testing.T) {
	for _, e := range backends(t, nil) {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			if out := e.feed.Process(ctx, fixture(t, "13-oru-results.hl7"), "t"); out.Status != feed.StatusErrored {
				t.Fatalf("results before the patient: %s", out.Status)
			}
			if out := e.feed.Process(ctx, fixture(t, "01-a28-register.hl7"), "t"); out.Status != feed.StatusApplied {
				t.Fatalf("register: %s %v", out.Status, out.Err)
			}
			var wg sync.WaitGroup
			stats := make([]feed.ReplayStats, 2)
			for i := range stats {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var err error
					stats[i], err = e.feed.Replay(ctx, feed.ReplayOptions{}, nil)
					if err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			if stats[0].Applied+stats[1].Applied != 1 {
				t.Errorf("replays applied %+v, want 1 in all", stats)
			}
			if v := versions(t, e, "DiagnosticReport"); v != 1 {
				t.Errorf("DiagnosticReport has %d versions, want 1", v)
			}
			rec := list(t, e, feed.Query{ControlID: "LAB0001"})
			if len(rec) != 1 || rec[0].Status != feed.StatusApplied || rec[0].Attempts < 2 || !bytes.Contains(rec[0].Ack, []byte("MSA|AA")) || len(rec[0].Refs) == 0 {
				t.Fatalf("after replay: %+v", rec[0])
			}
			st, err := e.feed.Replay(ctx, feed.ReplayOptions{}, nil)
			if err != nil || st.Applied != 0 {
				t.Errorf("second replay: %+v %v", st, err)
			}
		})
	}
}

// TestHTTPList reads the message store over HTTP.
func TestHTTPList(t *testing.T) {
	e := newEnvSQLite(t)
	ctx := context.Background()
	e.feed.Process(ctx, fixture(t, "01-a28-register.hl7"), "t")
	e.feed.Process(ctx, fixture(t, "20-bad-nhs-number.hl7"), "t")
	e.feed.Process(ctx, fixture(t, "02-a01-admit.hl7"), "t")
	srv := httptest.NewServer(e.feed.Handler(func(*http.Request) (*access.Caller, error) { return &access.Caller{Kind: access.Development}, nil }))
	defer srv.Close()
	get := func(path string) (int, map[string]any) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	for _, c := range []struct {
		path string
		want int
	}{
		{"/hl7/messages", 3},
		{"/hl7/messages?status=errored", 1},
		{"/hl7/messages?patient=9990000018", 2},
		{"/hl7/messages?type=ADT%5EA01", 1},
		{"/hl7/messages?control-id=PAS0001", 1},
		{"/hl7/messages?since=2000-01-01&until=2000-01-02", 0},
		{"/hl7/messages?_count=2", 2},
	} {
		code, m := get(c.path)
		msgs, _ := m["messages"].([]any)
		if code != 200 || len(msgs) != c.want {
			t.Errorf("%s: %d, %d messages, want %d", c.path, code, len(msgs), c.want)
		}
	}
	_, m := get("/hl7/messages?_count=2")
	next, _ := m["next"].(string)
	if code, m2 := get(strings.TrimPrefix(next, "")); code != 200 || len(m2["messages"].([]any)) != 1 {
		t.Errorf("next page %s: %d %v", next, code, m2)
	}
	if code, _ := get("/hl7/messages?status=bogus"); code != 400 {
		t.Errorf("bad status: %d", code)
	}
	if code, _ := get("/hl7/messages?colour=red"); code != 400 {
		t.Errorf("unknown parameter: %d", code)
	}
	if code, _ := get("/hl7/messages/999999"); code != 404 {
		t.Errorf("missing message: %d", code)
	}
	_, one := get("/hl7/messages/1")
	if raw, _ := one["raw"].(string); !strings.HasPrefix(raw, "MSH|") {
		t.Errorf("one message: %v", one)
	}
	_ = testenv.PostgresEnv
}
