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

// knownViolations lists official R4 examples that break a rule Validate
// checks beyond Structure, with a substring each reported error must
// contain. Each entry is a real violation of the specification.
var knownViolations = map[string]string{
	// Entries share fullUrls (the de-Quantity.* data elements repeat)
	// with no meta.versionId to tell them apart.
	"Bundle-dataelements.json": "bdl-7",
	// DeviceMetric.parent is Reference(Device), not DeviceDefinition.
	"DeviceMetric-example.json": "may refer to Device, not DeviceDefinition",
	// DeviceUseStatement.reasonReference does not allow Procedure.
	"DeviceUseStatement-example.json": "not Procedure",
	// ImplementationGuide.name and .status are 1..1.
	"ImplementationGuide-fhir.json": "missing required element",
	"ig-r4.json":                    "missing required element",
	// MedicationRequest.dispenseRequest.performer is Reference(Organization).
	"MedicationRequest-medrx0301.json": "not Practitioner",
	// Observation.performer does not allow Encounter.
	"Observation-clinical-gender.json": "not Encounter",
	// Questionnaire.item.linkId is 1..1; a nested item lacks it.
	"Questionnaire-qs1.json": "missing required element linkId",
	// Logical models that are neither abstract nor have a baseDefinition.
	"StructureDefinition-Definition.json": "sdf-4",
	"StructureDefinition-Event.json":      "sdf-4",
	"StructureDefinition-FiveWs.json":     "sdf-4",
	"StructureDefinition-Request.json":    "sdf-4",
	// SearchParameter.base is 1..*; these extension search parameters
	// have none.
	"SearchParameter-codesystem-extensions-CodeSystem-author.json":    "missing required element base",
	"SearchParameter-codesystem-extensions-CodeSystem-effective.json": "missing required element base",
	"SearchParameter-codesystem-extensions-CodeSystem-end.json":       "missing required element base",
	"SearchParameter-codesystem-extensions-CodeSystem-keyword.json":   "missing required element base",
	"SearchParameter-codesystem-extensions-CodeSystem-workflow.json":  "missing required element base",
	"SearchParameter-valueset-extensions-ValueSet-author.json":        "missing required element base",
	"SearchParameter-valueset-extensions-ValueSet-effective.json":     "missing required element base",
	"SearchParameter-valueset-extensions-ValueSet-end.json":           "missing required element base",
	"SearchParameter-valueset-extensions-ValueSet-keyword.json":       "missing required element base",
	"SearchParameter-valueset-extensions-ValueSet-workflow.json":      "missing required element base",
}

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
		want, known := knownViolations[r.name]
		if !known {
			want, known = knownInvalid[r.name]
		}
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
