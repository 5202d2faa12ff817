package validate

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/fhirpkg"
)

// coreProfilesKnown lists official examples that fail a core profile
// they claim, with a substring of each error and why. None do.
var coreProfilesKnown = map[string]string{}

// TestCoreProfiles loads the profiles of the core package (vital signs,
// lipid profile, CDS hooks ...) and validates the examples that claim
// one of them.
func TestCoreProfiles(t *testing.T) {
	if testing.Short() {
		t.Skip("reads every official example")
	}
	dir, err := fhirpkg.Dir()
	if err != nil {
		t.Skipf("FHIR package unavailable: %v", err)
	}
	ps := NewProfiles()
	sds, _ := filepath.Glob(filepath.Join(dir, "StructureDefinition-*.json"))
	for _, f := range sds {
		b, _ := os.ReadFile(f)
		if err := ps.Load(b); err != nil && !errors.Is(err, ErrNotProfile) {
			t.Errorf("%s: %v", filepath.Base(f), err)
		}
	}
	files, _ := fhirpkg.Examples(dir)
	claiming, failed := 0, 0
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if !strings.Contains(string(b), `"profile"`) {
			continue
		}
		issues := Validate(b, Options{Profiles: ps})
		var errs []fhir.Issue
		for _, is := range fhir.ErrorsOf(issues) {
			if strings.Contains(is.Diagnostics, "profile ") {
				errs = append(errs, is)
			}
		}
		claiming++
		name := filepath.Base(f)
		want, known := coreProfilesKnown[name]
		switch {
		case known && len(errs) == 0:
			t.Errorf("%s: listed as failing (%s) but passes", name, want)
		case len(errs) > 0 && !known:
			failed++
			for _, is := range errs {
				t.Errorf("%s: %s @ %v", name, is.Diagnostics, is.Expression)
			}
		}
	}
	t.Logf("%d profiles loaded; %d files mention \"profile\", %d failed", len(ps.URLs()), claiming, failed)

	// A vital sign without the vital-signs category breaks the VSCat
	// slice (min 1) of the vitalsigns profile it claims.
	in := mutate(t, "Observation-bmi.json", func(m map[string]any) {
		obj(arr(obj(arr(m["category"])[0])["coding"])[0])["code"] = "laboratory"
	})
	for _, is := range fhir.ErrorsOf(Validate(in, Options{Profiles: ps})) {
		if strings.Contains(is.Diagnostics, "Observation.category:VSCat needs at least 1, has 0") && is.Expression[0] == "Observation.category" {
			return
		}
	}
	t.Errorf("vitalsigns VSCat not enforced: %v", Validate(in, Options{Profiles: ps}))
}
