package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nhs-junction/junction/internal/config"
	"github.com/nhs-junction/junction/internal/store"
	"github.com/nhs-junction/junction/internal/synth"
	"github.com/nhs-junction/junction/internal/testenv"
)

// testConfigs returns store configurations for SQLite and, when
// JUNCTION_TEST_POSTGRES is set, PostgreSQL (in a fresh schema).
func testConfigs(t *testing.T) map[string]config.Config {
	cfgs := map[string]config.Config{}
	c := config.Defaults()
	c.Data = t.TempDir()
	cfgs["sqlite"] = c
	if url := testenv.PostgresURL(t); url != "" {
		c := config.Defaults()
		c.Database = url
		cfgs["postgres"] = c
	}
	return cfgs
}

var refPattern = regexp.MustCompile(`"reference":"([A-Za-z]+)/([A-Za-z0-9\-.]{1,64})"`)

// TestImportSynthea loads all Synthea bundles with the import command's
// code path, then checks that nothing was refused and that every internal
// reference of every stored resource resolves. Importing twice must not
// duplicate anything.
func TestImportSynthea(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	dir := testenv.SharedData(t, "synthea-r4")
	for name, cfg := range testConfigs(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			var out bytes.Buffer
			stats, err := Import(ctx, cfg, []string{dir}, &out, nil)
			if err != nil {
				t.Fatal(err)
			}
			if stats.Rejected != 0 {
				t.Fatalf("%d rejected:\n%s", stats.Rejected, out.String())
			}
			total := 0
			for _, n := range stats.Loaded {
				total += n
			}
			if total < 13000 {
				t.Fatalf("loaded only %d resources: %v", total, stats.Loaded)
			}
			st, err := OpenStore(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			// Walk the whole system history and resolve every reference.
			checked, q := 0, store.HistoryQuery{Count: 1000}
			for {
				page, err := st.History(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				for _, v := range page.Versions {
					// Synthea repeats its Organizations and Practitioners, with
					// the same fullUrl, in every bundle that uses them.
					if v.Version != 1 && v.Type != "Organization" && v.Type != "Practitioner" {
						t.Fatalf("%s/%s has version %d after one import", v.Type, v.ID, v.Version)
					}
					for _, m := range refPattern.FindAllSubmatch(v.Body, -1) {
						if _, err := st.Read(ctx, string(m[1]), string(m[2])); err != nil {
							t.Fatalf("%s/%s references %s/%s: %v", v.Type, v.ID, m[1], m[2], err)
						}
						checked++
					}
					if bytes.Contains(v.Body, []byte(`"reference":"urn:uuid:`)) {
						t.Fatalf("%s/%s kept a urn:uuid reference", v.Type, v.ID)
					}
				}
				if !page.More {
					break
				}
				q.Before, q.Snapshot = page.Versions[len(page.Versions)-1].Seq, page.Snapshot
			}
			if checked < 40000 {
				t.Fatalf("only %d references checked", checked)
			}
			// A second import updates in place: same ids, version 2, nothing new.
			first := filepath.Join(dir, firstJSON(t, dir))
			if _, err := Import(ctx, cfg, []string{first}, &out, nil); err != nil {
				t.Fatal(err)
			}
			var bundle struct {
				Entry []struct{ FullURL string }
			}
			b, _ := os.ReadFile(first)
			_ = json.Unmarshal(b, &bundle)
			id := strings.TrimPrefix(bundle.Entry[0].FullURL, "urn:uuid:")
			v, err := st.Read(ctx, "Patient", id)
			if err != nil || v.Version != 2 {
				t.Fatalf("re-import: Patient/%s version %d, err %v", id, v.Version, err)
			}
		})
	}
}

func firstJSON(t *testing.T, dir string) string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".json") {
			return e.Name()
		}
	}
	t.Fatal("no bundle")
	return ""
}

// TestImportSynth loads a small synthetic population through the import
// path (full validation, NHS number rules, indexing): the server must
// accept every generated resource, in both output formats.
func TestImportSynth(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	ctx := context.Background()
	for _, format := range []string{synth.FormatNDJSON, synth.FormatBundles} {
		t.Run(format, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := synth.Write(ctx, synth.Options{Patients: 8, Seed: 7}, dir, format, io.Discard); err != nil {
				t.Fatal(err)
			}
			cfg := config.Defaults()
			cfg.Data = t.TempDir()
			var out bytes.Buffer
			stats, err := Import(ctx, cfg, []string{dir}, &out, nil)
			if err != nil {
				t.Fatal(err)
			}
			if stats.Rejected != 0 || stats.Loaded["Patient"] < 8 {
				t.Fatalf("%d rejected, loaded %v:\n%s", stats.Rejected, stats.Loaded, out.String())
			}
		})
	}
}

// TestImportLinksPatients checks that import stores what PUT would: a
// Patient imported with the NHS number of one already stored is linked
// to it (Patient.link seealso), as automatic linking does on PUT.
func TestImportLinksPatients(t *testing.T) {
	for name, cfg := range testConfigs(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			patient := `{"resourceType":"Patient","id":%q,"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9990000018"}]}`
			for i, id := range []string{"gp-copy", "trust-copy"} {
				path := filepath.Join(dir, id+".json")
				if err := os.WriteFile(path, fmt.Appendf(nil, patient, id), 0o644); err != nil {
					t.Fatal(err)
				}
				// One import per file: the second finds the first stored.
				if stats, err := Import(ctx, cfg, []string{path}, io.Discard, nil); err != nil || stats.Rejected != 0 {
					t.Fatalf("import %d: %+v, %v", i, stats, err)
				}
			}
			st, err := OpenStore(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			v, err := st.Read(ctx, "Patient", "trust-copy")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(v.Body), `"reference":"Patient/gp-copy"`) || !strings.Contains(string(v.Body), `"seealso"`) {
				t.Errorf("imported Patient/trust-copy is not linked to Patient/gp-copy: %s", v.Body)
			}
		})
	}
}
