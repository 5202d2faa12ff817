package terminology

import (
	"bytes"
	"github.com/nhs-junction/junction/internal/testenv"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/nhs-junction/junction/internal/fhirpkg"
)

func TestGenerated(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the generator")
	}
	if _, err := fhirpkg.Dir(); err != nil {
		testenv.Unavailable(t, "FHIR package unavailable: %v", err)
	}
	if _, err := fhirpkg.ExpansionsPackage.Dir(); err != nil {
		testenv.Unavailable(t, "FHIR expansions package unavailable: %v", err)
	}
	out := filepath.Join(t.TempDir(), "zz.go")
	if b, err := exec.Command("go", "run", "./gen", "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("generator: %v\n%s", err, b)
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("zz_generated.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("zz_generated.go is stale: run go generate ./internal/terminology")
	}
}

// TestTablesCoverPackage checks that every CodeSystem and ValueSet of
// the package made it into the tables.
func TestTablesCoverPackage(t *testing.T) {
	dir, err := fhirpkg.Dir()
	if err != nil {
		testenv.Unavailable(t, "FHIR package unavailable: %v", err)
	}
	cs, _ := filepath.Glob(filepath.Join(dir, "CodeSystem-*.json"))
	vs, _ := filepath.Glob(filepath.Join(dir, "ValueSet-*.json"))
	r := New()
	if len(r.systems) != len(cs) || len(r.sets) != len(vs) {
		t.Errorf("tables hold %d code systems and %d value sets; the package has %d and %d", len(r.systems), len(r.sets), len(cs), len(vs))
	}
}

// TestPublishedMatchPackage checks each carried expansion against its
// file in the expansions package: same codes, same order, same source.
func TestPublishedMatchPackage(t *testing.T) {
	dir, err := fhirpkg.ExpansionsPackage.Dir()
	if err != nil {
		testenv.Unavailable(t, "FHIR expansions package unavailable: %v", err)
	}
	type vs struct {
		URL       string `json:"url"`
		Expansion struct {
			Identifier string `json:"identifier"`
			Contains   []struct{ System, Code, Display string }
		} `json:"expansion"`
	}
	files, err := fhirpkg.ReadAll[vs](dir, "ValueSet-*.json")
	if err != nil {
		t.Fatal(err)
	}
	byURL := map[string]vs{}
	for _, f := range files {
		byURL[f.URL] = f
	}
	for url, s := range New().sets {
		if s.published == nil {
			continue
		}
		f, ok := byURL[url]
		if !ok || f.Expansion.Identifier != s.published.Identifier || len(f.Expansion.Contains) != len(s.published.codes) {
			t.Errorf("%s: carried %d codes of %s; the package has %d of %q", url, len(s.published.codes), s.published.Identifier, len(f.Expansion.Contains), f.Expansion.Identifier)
			continue
		}
		for i, c := range f.Expansion.Contains {
			if got := s.published.codes[i]; got.System != c.System || got.Code != c.Code || got.Display != c.Display {
				t.Errorf("%s #%d: %+v, package %+v", url, i, got, c)
				break
			}
		}
	}
}
