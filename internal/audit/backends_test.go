package audit

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/store"
	"github.com/nhs-junction/junction/internal/store/postgres"
	"github.com/nhs-junction/junction/internal/store/sqlite"
	"github.com/nhs-junction/junction/internal/testenv"
)

// backend opens a fresh store of one kind; reopen opens the same
// database again (a restart).
type backend struct {
	name   string
	dir    string // SQLite: the data directory
	open   func(t testing.TB) store.Store
	reopen func(t testing.TB) store.Store
}

// backends returns SQLite and, when JUNCTION_TEST_POSTGRES is set,
// PostgreSQL in a schema of its own.
func backends(t testing.TB) []backend {
	out := []backend{sqliteBackend(t)}
	if u := testenv.PostgresURL(t); u != "" {
		open := func(t testing.TB) store.Store {
			st, err := postgres.Open(context.Background(), u)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		}
		out = append(out, backend{name: "postgres", open: open, reopen: open})
	}
	return out
}

func sqliteBackend(t testing.TB) backend {
	dir := t.TempDir()
	open := func(t testing.TB) store.Store {
		st, err := sqlite.Open(context.Background(), dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	return backend{name: "sqlite", dir: dir, open: open, reopen: open}
}

// forBackends runs f once per backend as a subtest.
func forBackends(t *testing.T, f func(t *testing.T, b backend)) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) { f(t, b) })
	}
}

// writeEvents stores n AuditEvents, per transactions of perTx, each
// queued for the log, and returns their ids in the order written.
func writeEvents(t testing.TB, st store.Store, prefix string, n, perTx int) []string {
	t.Helper()
	ctx := context.Background()
	var ids []string
	for done := 0; done < n; {
		k := min(perTx, n-done)
		err := st.Write(ctx, func(tx store.Tx) error {
			for i := 0; i < k; i++ {
				id := fmt.Sprintf("%s-%d", prefix, done+i)
				if _, err := putEvent(ctx, tx, id); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < k; i++ {
			ids = append(ids, fmt.Sprintf("%s-%d", prefix, done+i))
		}
		done += k
	}
	return ids
}

// putEvent stores one BALP AuditEvent as version 1 of id and queues it.
func putEvent(ctx context.Context, tx store.Tx, id string) (store.Version, error) {
	e := clinician()
	e.Interaction, e.Resources, e.Patients = Read, []string{"Observation/" + id}, []string{"p-" + id}
	obj, err := fhir.ParseObject(Event(e))
	if err != nil {
		return store.Version{}, err
	}
	body, err := fhir.Stamp(obj, id, 1, tx.Now())
	if err != nil {
		return store.Version{}, err
	}
	v, err := tx.Put(ctx, store.Version{Type: "AuditEvent", ID: id, Version: 1, Body: body})
	if err != nil {
		return v, err
	}
	return v, Queue(ctx, tx, v)
}

func openLog(t testing.TB, st store.Store) *Log {
	t.Helper()
	l, err := Open(context.Background(), st, Options{Origin: "test.example/log", Logger: failLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func integrate(t testing.TB, l *Log) Checkpoint {
	t.Helper()
	cp, err := l.Integrate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

// verifyStore runs Verify on st's database, trusting the stored key,
// with saved as the saved checkpoint (nil for none).
func verifyStore(t testing.TB, st store.Store, saved []byte) *Report {
	t.Helper()
	rep, err := Verify(context.Background(), st.(DB), VerifyOptions{Saved: saved})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// failLogger fails tb on every message logged at error level: the
// integrator reports its failures there.
func failLogger(tb testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(failWriter{tb}, &slog.HandlerOptions{Level: slog.LevelError}))
}

type failWriter struct{ tb testing.TB }

func (w failWriter) Write(p []byte) (int, error) {
	w.tb.Errorf("logged: %s", p)
	return len(p), nil
}
