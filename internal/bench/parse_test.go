package bench

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/synth"
)

// firstOfEachType returns one resource of each type from a synthetic
// patient's record: the JSON every write parses once.
func firstOfEachType(tb testing.TB) map[string][]byte {
	tb.Helper()
	g := synth.New(synth.Options{Patients: 1, Seed: 1})
	out := map[string][]byte{}
	for _, raw := range g.Patient(0) {
		var head struct{ ResourceType string }
		if err := json.Unmarshal(raw, &head); err != nil {
			tb.Fatal(err)
		}
		if _, ok := out[head.ResourceType]; !ok {
			out[head.ResourceType] = raw
		}
	}
	return out
}

// BenchmarkParseObject parses a resource into the order-preserving
// fhir.Object the write path edits, per resource type.
func BenchmarkParseObject(b *testing.B) {
	for _, typ := range []string{"Patient", "Observation", "Encounter", "Condition", "MedicationRequest"} {
		raw := firstOfEachType(b)[typ]
		if raw == nil {
			continue
		}
		b.Run("type="+typ, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := fhir.ParseObject(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStamp parses a resource and stamps its id and meta, which is
// what every create and update does to a body before storing it.
func BenchmarkStamp(b *testing.B) {
	now := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	for _, typ := range []string{"Patient", "Observation", "Encounter"} {
		raw := firstOfEachType(b)[typ]
		if raw == nil {
			continue
		}
		b.Run("type="+typ, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				o, err := fhir.ParseObject(raw)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := fhir.Stamp(o, "bench-id", 2, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
