package fhirpath

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nhs-junction/junction/internal/fhir/spec"
	"github.com/nhs-junction/junction/internal/fhirpkg"
)

// packageDir locates the extracted R4 package, skipping the test when it is
// not available (no cache and no network).
func packageDir(t *testing.T) string {
	if testing.Short() && os.Getenv(fhirpkg.EnvVar) == "" {
		t.Skip("short mode: not locating the FHIR package")
	}
	dir, err := fhirpkg.Dir()
	if err != nil {
		t.Skipf("FHIR R4 package not available: %v", err)
	}
	return dir
}

// TestSearchParameterExpressionsCompile compiles the expression of every
// SearchParameter resource in the R4 package, and of its components.
func TestSearchParameterExpressionsCompile(t *testing.T) {
	dir := packageDir(t)
	files, err := filepath.Glob(filepath.Join(dir, "SearchParameter-*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skip("no SearchParameter resources in the package")
	}
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var sp struct {
			Expression string
			Component  []struct{ Expression string }
		}
		if err := json.Unmarshal(data, &sp); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		exprs := []string{sp.Expression}
		for _, c := range sp.Component {
			exprs = append(exprs, c.Expression)
		}
		for _, e := range exprs {
			if e == "" {
				continue
			}
			n++
			if _, err := Compile(e); err != nil {
				t.Errorf("%s: %q: %v", filepath.Base(f), e, err)
			}
		}
	}
	t.Logf("compiled %d expressions from %d SearchParameter resources", n, len(files))
}

// TestSearchParameterExpressionsEvaluate evaluates every applicable core
// search parameter against every example resource of the package, as the
// indexer does at write time: none may fail.
func TestSearchParameterExpressionsEvaluate(t *testing.T) {
	dir := packageDir(t)
	files, err := fhirpkg.Examples(dir)
	if err != nil {
		t.Fatal(err)
	}
	byType := map[string][]*Expr{}
	for _, rt := range spec.ResourceTypes() {
		for _, p := range spec.SearchParams(rt) {
			e := p.ExpressionFor(rt)
			if e == "" {
				continue
			}
			x, err := Compile(e)
			if err != nil {
				t.Fatalf("%s %s: %v", rt, p.Name, err)
			}
			byType[rt] = append(byType[rt], x)
		}
	}
	evals, values := 0, 0
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
		for _, x := range byType[rt] {
			evals++
			out, err := x.Evaluate(res, nil)
			if err != nil && !errors.Is(err, ErrUnsupported) {
				t.Errorf("%s: %s: %v", filepath.Base(f), x, err)
			}
			values += len(out)
			for _, it := range out {
				if it.Type() == "" && !strings.HasPrefix(x.String(), "%") {
					t.Errorf("%s: %s: item without a type: %v", filepath.Base(f), x, it.Value())
					break
				}
			}
		}
	}
	t.Logf("%d evaluations over %d files gave %d values", evals, len(files), values)
}

// TestSpecSearchParametersCompile needs no package: the generated tables
// carry every core search parameter expression.
func TestSpecSearchParametersCompile(t *testing.T) {
	n := 0
	for _, p := range spec.AllSearchParams() {
		exprs := []string{p.Expression}
		for _, c := range p.Components {
			exprs = append(exprs, c.Expression)
		}
		for _, e := range exprs {
			if e == "" {
				continue
			}
			n++
			if _, err := Compile(e); err != nil {
				t.Errorf("%s: %q: %v", p.URL, e, err)
			}
		}
	}
	if n < 1000 {
		t.Errorf("only %d expressions", n)
	}
}
