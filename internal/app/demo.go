package app

import (
	"context"
	"encoding/json"

	"github.com/nhs-junction/junction/internal/interaction"
	"github.com/nhs-junction/junction/internal/store"
	"github.com/nhs-junction/junction/internal/synth"
)

// Demo population size and seed: small enough to load in a second or two.
const (
	demoPatients = 25
	demoSeed     = 2026
)

// LoadDemo loads the demo population when the store holds no resources,
// and returns how many resources it loaded (0 when the store was not empty).
func LoadDemo(ctx context.Context, st store.Store, svc *interaction.Service) (int, error) {
	page, err := st.History(ctx, store.HistoryQuery{Count: 1})
	if err != nil {
		return 0, err
	}
	if len(page.Versions) > 0 {
		return 0, nil
	}
	g := synth.New(synth.Options{Patients: demoPatients, Seed: demoSeed})
	batches := [][][]byte{g.Shared()}
	for i := 0; i < demoPatients; i++ {
		batches = append(batches, g.Patient(i))
	}
	n := 0
	for _, batch := range batches {
		var reqs []*interaction.Request
		for _, raw := range batch {
			var head struct {
				ResourceType string `json:"resourceType"`
				ID           string `json:"id"`
			}
			if err := json.Unmarshal(raw, &head); err != nil {
				return n, err
			}
			reqs = append(reqs, &interaction.Request{Kind: interaction.Update, Type: head.ResourceType, ID: head.ID, Body: raw, Caller: Operator})
		}
		_, errs, err := svc.Load(ctx, reqs)
		if err != nil {
			return n, err
		}
		for _, e := range errs {
			if e != nil {
				return n, e
			}
		}
		n += len(reqs)
	}
	return n, nil
}

// demoPatientID is the id of the demo population's first patient, whom
// the demo patient user is linked to.
func demoPatientID() string {
	g := synth.New(synth.Options{Patients: demoPatients, Seed: demoSeed})
	for _, raw := range g.Patient(0) {
		var head struct {
			ResourceType string `json:"resourceType"`
			ID           string `json:"id"`
		}
		if json.Unmarshal(raw, &head) == nil && head.ResourceType == "Patient" {
			return head.ID
		}
	}
	return ""
}
