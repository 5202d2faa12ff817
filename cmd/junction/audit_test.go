package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nhs-junction/junction/internal/audit"
	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/store"
	"github.com/nhs-junction/junction/internal/store/postgres"
	"github.com/nhs-junction/junction/internal/store/sqlite"
	"github.com/nhs-junction/junction/internal/testenv"
)

// TestAuditVerify runs `junction audit verify` on an intact log, saves
// its checkpoint, and then on the same log after an AuditEvent was
// edited in the database: exit 1 naming the change.
func TestAuditVerify(t *testing.T) {
	targets := map[string][]string{"sqlite": {"--data", t.TempDir()}}
	if u := testenv.PostgresURL(t); u != "" {
		targets["postgres"] = []string{"--database", u}
	}
	for name, where := range targets {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := openFor(t, where)
			lg, err := audit.Open(ctx, st, audit.Options{Origin: "cli.example/log"})
			if err != nil {
				t.Fatal(err)
			}
			err = st.Write(ctx, func(tx store.Tx) error {
				for i := range 20 {
					obj, _ := fhir.ParseObject(audit.Event(audit.Entry{Interaction: audit.Read, Resources: []string{fmt.Sprintf("Patient/%d", i)}, Patients: []string{fmt.Sprint(i)}}))
					body, _ := fhir.Stamp(obj, fmt.Sprintf("ae%d", i), 1, tx.Now())
					v, err := tx.Put(ctx, store.Version{Type: "AuditEvent", ID: fmt.Sprintf("ae%d", i), Version: 1, Body: body})
					if err != nil {
						return err
					}
					if err := audit.Queue(ctx, tx, v); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := lg.Integrate(ctx); err != nil {
				t.Fatal(err)
			}
			saved := filepath.Join(t.TempDir(), "checkpoint")
			var out, errOut bytes.Buffer
			args := append(append([]string{"audit", "verify"}, where...), "--key", lg.VerifierKey(), "--save-checkpoint", saved)
			if err := run(ctx, args, &out, &errOut); err != nil {
				t.Fatalf("verify of an intact log: %v\n%s%s", err, out.String(), errOut.String())
			}
			if !strings.Contains(out.String(), "OK: the audit log is intact") || !strings.Contains(out.String(), "checkpoint: 20 leaves") {
				t.Errorf("output: %s", out.String())
			}
			if b, err := os.ReadFile(saved); err != nil || !strings.HasPrefix(string(b), "cli.example/log\n20\n") {
				t.Fatalf("saved checkpoint: %q %v", b, err)
			}

			err = st.Write(ctx, func(tx store.Tx) error {
				return tx.(audit.Execer).ExecShared(ctx, "UPDATE resource_version SET body = ? WHERE type = 'AuditEvent' AND id = ?", []byte(`{"resourceType":"AuditEvent"}`), "ae3")
			})
			if err != nil {
				t.Fatal(err)
			}
			out.Reset()
			var ee exitError
			err = run(ctx, append(append([]string{"audit", "verify"}, where...), "--checkpoint", saved), &out, &errOut)
			if !errors.As(err, &ee) || ee != 1 {
				t.Fatalf("verify of an edited log: %v\n%s", err, out.String())
			}
			if !strings.Contains(out.String(), "CHANGED: AuditEvent/ae3/_history/1") || !strings.Contains(out.String(), "FAILED: changed") {
				t.Errorf("output: %s", out.String())
			}
		})
	}
	var out, errOut bytes.Buffer
	var ee exitError
	if err := run(context.Background(), []string{"audit"}, &out, &errOut); !errors.As(err, &ee) || ee != 2 {
		t.Errorf("audit without verify: %v", err)
	}
	if err := run(context.Background(), []string{"audit", "verify", "--data", t.TempDir()}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "no database") {
		t.Errorf("verify of an empty directory: %v", err)
	}
}

func openFor(t *testing.T, where []string) store.Store {
	t.Helper()
	var st store.Store
	var err error
	if where[0] == "--data" {
		st, err = sqlite.Open(context.Background(), where[1])
	} else {
		st, err = postgres.Open(context.Background(), where[1])
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
