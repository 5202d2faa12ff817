package audit

import (
	"context"
	"slices"
	"testing"

	"github.com/nhs-junction/junction/internal/store"
)

// tamper runs statements in the shared SQL against the database directly,
// as someone with write access to it (not through the FHIR API) would.
func tamper(t *testing.T, st store.Store, stmts ...[]any) {
	t.Helper()
	err := st.Write(context.Background(), func(tx store.Tx) error {
		ex := tx.(Execer)
		for _, s := range stmts {
			if err := ex.ExecShared(context.Background(), s[0].(string), s[1:]...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func sqlOf(query string, args ...any) []any { return append([]any{query}, args...) }

// logged sets up a store with 300 logged AuditEvents and 5 queued, and
// returns it with the log, the ids and the signed checkpoint.
func logged(t *testing.T, b backend) (store.Store, *Log, []string, Checkpoint) {
	st := b.open(t)
	l := openLog(t, st)
	ids := writeEvents(t, st, "ae", 300, 60)
	cp := integrate(t, l)
	writeEvents(t, st, "queued", 5, 5)
	return st, l, ids, cp
}

func TestVerifyUntampered(t *testing.T) {
	forBackends(t, func(t *testing.T, b backend) {
		st, _, _, cp := logged(t, b)
		rep := verifyStore(t, st, cp.Note)
		if !rep.OK() {
			t.Fatalf("an untampered store: %v", rep.Problems)
		}
		if rep.Leaves != 300 || rep.Queued != 5 || rep.Events != 305 || rep.Checkpoint == nil || rep.Checkpoint.Size != 300 {
			t.Errorf("report %+v", rep)
		}
	})
}

func TestVerifyDetectsTampering(t *testing.T) {
	tests := []struct {
		name string
		// edit tampers with the store; it may return a saved checkpoint
		// (and a trusted key) to verify against.
		edit func(t *testing.T, st store.Store, l *Log, ids []string, cp Checkpoint) (saved []byte, key string)
		want Kind
		not  []Kind // kinds that would misname what happened
	}{
		{name: "edit an AuditEvent", want: Changed, not: []Kind{Reordered, Deleted},
			edit: func(t *testing.T, st store.Store, l *Log, ids []string, cp Checkpoint) ([]byte, string) {
				tamper(t, st, sqlOf("UPDATE resource_version SET body = ? WHERE type = 'AuditEvent' AND id = ?", []byte(`{"resourceType":"AuditEvent","id":"ae-42"}`), ids[42]))
				return nil, ""
			}},
		{name: "edit an AuditEvent and its leaf", want: Changed, not: []Kind{Reordered, Deleted},
			edit: func(t *testing.T, st store.Store, l *Log, ids []string, cp Checkpoint) ([]byte, string) {
				body := []byte(`{"resourceType":"AuditEvent","id":"ae-42"}`)
				salt := leafSalt(t, st, ids[42])
				tamper(t, st,
					sqlOf("UPDATE resource_version SET body = ? WHERE type = 'AuditEvent' AND id = ?", body, ids[42]),
					sqlOf("UPDATE audit_leaf SET entry = ? WHERE ae_id = ?", EntryFor(salt, body), ids[42]))
				return nil, ""
			}},
		{name: "delete an AuditEvent", want: Deleted, not: []Kind{Reordered, Changed},
			edit: func(t *testing.T, st store.Store, l *Log, ids []string, cp Checkpoint) ([]byte, string) {
				tamper(t, st,
					sqlOf("DELETE FROM resource_version WHERE type = 'AuditEvent' AND id = ?", ids[7]),
					sqlOf("DELETE FROM resource WHERE type = 'AuditEvent' AND id = ?", ids[7]))
				return nil, ""
			}},
		{name: "delete an AuditEvent and its leaf", want: Deleted, not: []Kind{Reordered},
			edit: func(t *testing.T, st store.Store, l *Log, ids []string, cp Checkpoint) ([]byte, string) {
				tamper(t, st,
					sqlOf("DELETE FROM resource_version WHERE type = 'AuditEvent' AND id = ?", ids[7]),
					sqlOf("DELETE FROM audit_leaf WHERE ae_id = ?", ids[7]))
				return nil, ""
			}},
		{name: "delete the newest AuditEvents and leaves", want: Deleted, not: []Kind{Reordered},
			edit: func(t *testing.T, st store.Store, l *Log, ids []string, cp Checkpoint) ([]byte, string) {
				for _, id := range ids[298:] {
					tamper(t, st,
						sqlOf("DELETE FROM resource_version WHERE type = 'AuditEvent' AND id = ?", id),
						sqlOf("DELETE FROM audit_leaf WHERE ae_id = ?", id))
				}
				return nil, ""
			}},
		{name: "delete through the store (tombstone)", want: Deleted,
			edit: func(t *testing.T, st store.Store, l *Log, ids []string, cp Checkpoint) ([]byte, string) {
				err := st.Write(context.Background(), func(tx store.Tx) error {
					_, err := tx.Put(context.Background(), store.Version{Type: "AuditEvent", ID: ids[9], Version: 2, Deleted: true})
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				return nil, ""
			}},
		{name: "store an AuditEvent outside the log", want: Unlogged,
			edit: func(t *testing.T, st store.Store, l *Log, ids []string, cp Checkpoint) ([]byte, string) {
				err := st.Write(context.Background(), func(tx store.Tx) error {
					_, err := tx.Put(context.Background(), store.Version{Type: "AuditEvent", ID: "sneaky", Version: 1, Body: []byte(`{"resourceType":"AuditEvent"}`)})
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				return nil, ""
			}},
		{name: "reorder two leaves", want: Reordered, not: []Kind{Changed, Deleted},
			edit: func(t *testing.T, st store.Store, l *Log, ids []string, cp Checkpoint) ([]byte, string) {
				tamper(t, st,
					sqlOf("UPDATE audit_leaf SET idx = -1 WHERE idx = 3"),
					sqlOf("UPDATE audit_leaf SET idx = 3 WHERE idx = 270"),
					sqlOf("UPDATE audit_leaf SET idx = 270 WHERE idx = -1"))
				return nil, ""
			}},
		{name: "rewrite history and re-sign (fork)", want: Fork,
			edit: func(t *testing.T, st store.Store, l *Log, ids []string, cp Checkpoint) ([]byte, string) {
				rebuild(t, st, ids[5], false)
				// Without a checkpoint saved outside the database the
				// rewritten log is self-consistent: that is what the saved
				// checkpoint is for.
				if rep := verifyStore(t, st, nil); !rep.OK() {
					t.Errorf("a rebuilt log verifies without a saved checkpoint: %v", rep.Problems)
				}
				return cp.Note, ""
			}},
		{name: "rewrite history under a new key", want: KeyProblem,
			edit: func(t *testing.T, st store.Store, l *Log, ids []string, cp Checkpoint) ([]byte, string) {
				rebuild(t, st, ids[5], true)
				return cp.Note, l.VerifierKey()
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forBackends(t, func(t *testing.T, b backend) {
				st, l, ids, cp := logged(t, b)
				saved, key := tt.edit(t, st, l, ids, cp)
				rep, err := Verify(context.Background(), st.(DB), VerifyOptions{Saved: saved, Key: key})
				if err != nil {
					t.Fatal(err)
				}
				kinds := rep.Kinds()
				if !slices.Contains(kinds, tt.want) {
					t.Errorf("found %v, want %s; problems: %v", kinds, tt.want, rep.Problems)
				}
				for _, k := range tt.not {
					if slices.Contains(kinds, k) {
						t.Errorf("misnamed as %s: %v", k, rep.Problems)
					}
				}
				t.Logf("%v", rep.Problems)
			})
		})
	}
}

// rebuild removes AuditEvent id and its leaf and rebuilds the whole log
// from the remaining AuditEvents, signing with the log's own key (or a
// new one): a rewrite by someone in full control of the database.
func rebuild(t *testing.T, st store.Store, id string, newKey bool) {
	stmts := [][]any{
		sqlOf("DELETE FROM resource_version WHERE type = 'AuditEvent' AND id = ?", id),
		sqlOf("DELETE FROM resource WHERE type = 'AuditEvent' AND id = ?", id),
		sqlOf("DELETE FROM audit_leaf WHERE ae_id = ?", id),
		sqlOf("UPDATE audit_leaf SET idx = NULL"),
		sqlOf("DELETE FROM audit_tile"),
		sqlOf("UPDATE audit_tree SET size = 0, edge = ?", []byte{}),
		sqlOf("DELETE FROM audit_checkpoint"),
	}
	if newKey {
		stmts = append(stmts, sqlOf("DELETE FROM audit_key"))
	}
	tamper(t, st, stmts...)
	integrate(t, openLog(t, st))
}

func leafSalt(t *testing.T, st store.Store, id string) []byte {
	var salt []byte
	if err := st.(DB).QueryShared(context.Background(), "SELECT salt FROM audit_leaf WHERE ae_id = ?", []any{id}, func(scan func(...any) error) error {
		return scan(&salt)
	}); err != nil {
		t.Fatal(err)
	}
	return salt
}
