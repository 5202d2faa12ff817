package fhirpath

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/nhs-junction/junction/internal/fhir/spec"
	"github.com/nhs-junction/junction/internal/fhirpkg"
)

// TestSpecConstraintsCompile compiles every invariant of the R4
// StructureDefinitions. A constraint may use a feature the engine declines
// (ErrUnsupported) but must never be a syntax error.
func TestSpecConstraintsCompile(t *testing.T) {
	all := spec.AllConstraints()
	if len(all) == 0 {
		t.Skip("no constraints in the generated tables")
	}
	unsupportedN := 0
	for _, c := range all {
		_, err := Compile(c.Expression)
		switch {
		case errors.Is(err, ErrUnsupported):
			unsupportedN++
		case err != nil:
			t.Errorf("%s %s: %q: %v", c.Path, c.Key, c.Expression, err)
		}
	}
	t.Logf("%d constraints, %d use unsupported features", len(all), unsupportedN)
}

// TestSpecConstraintsEvaluate evaluates the resource-level invariants
// against every resource of the R4 package. The results are not checked
// (many examples legitimately break warning-level rules such as dom-6),
// but no evaluation may fail.
func TestSpecConstraintsEvaluate(t *testing.T) {
	dir := packageDir(t)
	files, err := fhirpkg.Examples(dir)
	if err != nil {
		t.Fatal(err)
	}
	byPath := map[string][]*Expr{}
	for _, c := range spec.AllConstraints() {
		if e, err := Compile(c.Expression); err == nil {
			byPath[c.Path] = append(byPath[c.Path], e)
		}
	}
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		res, ok := decodeJSON(t, data).(map[string]any)
		if !ok {
			continue
		}
		rt, _ := res["resourceType"].(string)
		for _, p := range []string{rt, "DomainResource", "Resource"} {
			for _, e := range byPath[p] {
				n++
				if _, err := e.Evaluate(res, nil); err != nil && !errors.Is(err, ErrUnsupported) {
					t.Errorf("%s: %s: %v", filepath.Base(f), e, err)
				}
			}
		}
	}
	t.Logf("%d constraint evaluations", n)
}
