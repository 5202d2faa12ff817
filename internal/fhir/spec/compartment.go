package spec

import (
	"github.com/nhs-junction/junction/internal/fhir/packed"
	"sort"
	"sync"
)

var (
	compOnce sync.Once
	comps    map[string]map[string][]string
)

func loadCompartments() {
	comps = map[string]map[string][]string{}
	packed.ForLines(compartmentData, func(f []string) {
		if comps[f[0]] == nil {
			comps[f[0]] = map[string][]string{}
		}
		comps[f[0]][f[1]] = f[2:]
	})
}

// Compartments returns the compartment types of R4: Device, Encounter,
// Patient, Practitioner and RelatedPerson.
func Compartments() []string {
	compOnce.Do(loadCompartments)
	out := make([]string, 0, len(comps))
	for c := range comps {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// CompartmentParams returns the search parameter codes that link
// resources of resourceType to a compartment of type compartment (such
// as "subject" and "performer" for Patient and Observation), from the
// core CompartmentDefinitions. The code "{def}" means the compartment's
// own resource (a Patient is in its own Patient compartment). An empty
// result means resourceType is not in the compartment. Names are
// matched exactly; compartment is a resource type such as "Patient".
func CompartmentParams(compartment, resourceType string) []string {
	compOnce.Do(loadCompartments)
	return comps[compartment][resourceType]
}

// InCompartment reports whether resourceType can be in compartment.
func InCompartment(compartment, resourceType string) bool {
	return len(CompartmentParams(compartment, resourceType)) > 0
}
