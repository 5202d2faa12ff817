package validate

import (
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/fhirpkg"
)

func TestValidateExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("validates every official example, about a minute on two cores")
	}
	dir, err := fhirpkg.Dir()
	if err != nil {
		t.Skipf("FHIR package unavailable: %v", err)
	}
	files, err := fhirpkg.Examples(dir)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		name   string
		issues []fhir.Issue
	}
	var (
		mu      sync.Mutex
		results []result
		wg      sync.WaitGroup
		next    = make(chan string)
		// notes counts the information issues: invariants not evaluated
		// and value sets not checked, to show what validation leaves out.
		notes = map[string]int{}
	)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range next {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Error(err)
					continue
				}
				issues := Validate(b, Options{ReportNotEvaluated: true})
				mu.Lock()
				results = append(results, result{filepath.Base(f), fhir.ErrorsOf(issues)})
				for _, is := range issues {
					if is.Severity == fhir.SeverityInformation {
						notes[is.Diagnostics]++
					}
				}
				mu.Unlock()
			}
		}()
	}
	for _, f := range files {
		next <- f
	}
	close(next)
	wg.Wait()
	sort.Slice(results, func(i, j int) bool { return results[i].name < results[j].name })
	failed := 0
	for _, r := range results {
		want, known := fhirpkg.KnownInvalid[r.name]
		switch {
		case known && len(r.issues) == 0:
			t.Errorf("%s: listed as invalid (%s) but passes", r.name, want)
		case known:
			for _, is := range r.issues {
				if !strings.Contains(is.Diagnostics, want) {
					t.Errorf("%s: unexpected issue %s @ %v", r.name, is.Diagnostics, is.Expression)
				}
			}
		case len(r.issues) > 0:
			failed++
			for _, is := range r.issues {
				t.Errorf("%s: %s @ %v", r.name, is.Diagnostics, is.Expression)
			}
		}
	}
	keys := make([]string, 0, len(notes))
	for k := range notes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Logf("%5d× %s", notes[k], k)
	}
	t.Logf("%d files validated, %d failed", len(results), failed)
}
