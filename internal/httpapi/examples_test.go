package httpapi_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/nhs-junction/junction/internal/fhirpkg"
	"github.com/nhs-junction/junction/internal/store"
)

// TestOfficialExamples stores every resource of the official R4 examples
// package with PUT at its own id and reads it back: it must come back
// equal to what was sent apart from meta.versionId and meta.lastUpdated.
func TestOfficialExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	dir, err := fhirpkg.Dir()
	if err != nil {
		t.Skipf("FHIR examples package unavailable: %v", err)
	}
	files, err := fhirpkg.Examples(dir)
	if err != nil {
		t.Fatal(err)
	}
	forEachBackend(t, func(t *testing.T, st store.Store) {
		srv := newServer(t, st, 64<<20)
		var (
			wg     sync.WaitGroup
			next   = make(chan string)
			mu     sync.Mutex
			stored int
		)
		// Eight writers share SQLite's group commits.
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for f := range next {
					name := filepath.Base(f)
					sent, err := os.ReadFile(f)
					if err != nil {
						t.Error(err)
						continue
					}
					var head struct{ ResourceType, ID string }
					if err := json.Unmarshal(sent, &head); err != nil {
						t.Errorf("%s: %v", name, err)
						continue
					}
					path := "/fhir/" + head.ResourceType + "/" + head.ID
					put := do(t, srv, "PUT", path, string(sent))
					if head.ResourceType == "AuditEvent" {
						// Only the server writes AuditEvents (README,
						// Tamper-evident audit log).
						if put.status != 405 {
							t.Errorf("%s: PUT of an AuditEvent: %d, want 405", name, put.status)
						}
						continue
					}
					if want, refused := fhirpkg.KnownInvalid[name]; refused {
						if (put.status != 400 && put.status != 422) || !bytes.Contains(put.body, []byte(want)) {
							t.Errorf("%s: want refusal naming %q, got %d %s", name, want, put.status, put.body)
						}
						continue
					}
					if put.status != 201 && put.status != 200 {
						t.Errorf("%s: PUT %s: %d %s", name, path, put.status, put.body)
						continue
					}
					got := do(t, srv, "GET", path, "")
					if got.status != 200 {
						t.Errorf("%s: GET: %d", name, got.status)
						continue
					}
					if !sameResource(t, sent, got.body) {
						t.Errorf("%s: read back differs:\nsent %.300s\ngot  %.300s", name, sent, got.body)
						continue
					}
					mu.Lock()
					stored++
					mu.Unlock()
				}
			}()
		}
		for _, f := range files {
			next <- f
		}
		close(next)
		wg.Wait()
		t.Logf("%d of %d official examples stored and read back equal", stored, len(files))
	})
}

// sameResource compares two resources as JSON values, numbers by their
// exact text, ignoring meta.versionId and meta.lastUpdated.
func sameResource(t *testing.T, a, b []byte) bool {
	norm := func(raw []byte) any {
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		var m map[string]any
		if err := d.Decode(&m); err != nil {
			t.Fatalf("not JSON: %v", err)
		}
		if meta, ok := m["meta"].(map[string]any); ok {
			delete(meta, "versionId")
			delete(meta, "lastUpdated")
			if len(meta) == 0 {
				delete(m, "meta")
			}
		}
		return m
	}
	return reflect.DeepEqual(norm(a), norm(b))
}
