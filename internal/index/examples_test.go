package index

import (
	"github.com/nhs-junction/junction/internal/testenv"
	"os"
	"path/filepath"
	"testing"

	"github.com/nhs-junction/junction/internal/fhirpkg"
	"github.com/nhs-junction/junction/internal/searchparam"
)

// TestOfficialExamples indexes every example resource of the R4
// specification: none may fail, because a failure refuses the write.
func TestOfficialExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the examples package")
	}
	dir, err := fhirpkg.Dir()
	if err != nil {
		testenv.Unavailable(t, "examples package unavailable: %v", err)
	}
	files, err := fhirpkg.Examples(dir)
	if err != nil {
		t.Fatal(err)
	}
	ix := New(searchparam.R4(), "http://hl7.org/fhir")
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ix.Index(b); err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
		}
		n++
	}
	t.Logf("indexed %d examples", n)
}
