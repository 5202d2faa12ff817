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

// knownInvalid lists official R4 examples that break the specification,
// with the diagnostic each must produce. They are listed so that the
// test notices both new failures and fixes.
var knownInvalid = map[string]string{
	// The id has 67 characters; R4 ids are at most 64.
	"SearchParameter-questionnaireresponse-extensions-QuestionnaireResponse-item-subject.json": "is not a valid id",
}

func TestExamples(t *testing.T) {
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
				errs := fhir.ErrorsOf(Structure(b))
				mu.Lock()
				results = append(results, result{filepath.Base(f), errs})
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
		want, known := knownInvalid[r.name]
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
	t.Logf("%d files validated, %d failed", len(results), failed)
}
