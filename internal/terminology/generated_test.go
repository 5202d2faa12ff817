package terminology

import (
	"bytes"
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
		t.Skipf("FHIR package unavailable: %v", err)
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
		t.Skipf("FHIR package unavailable: %v", err)
	}
	cs, _ := filepath.Glob(filepath.Join(dir, "CodeSystem-*.json"))
	vs, _ := filepath.Glob(filepath.Join(dir, "ValueSet-*.json"))
	r := New()
	if len(r.systems) != len(cs) || len(r.sets) != len(vs) {
		t.Errorf("tables hold %d code systems and %d value sets; the package has %d and %d", len(r.systems), len(r.sets), len(cs), len(vs))
	}
}
