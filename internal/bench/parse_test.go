package bench

import (
	"encoding/json"
	"fmt"
	"strings"
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

// TestSplitBundle: a large transaction Bundle becomes parts of at most
// the given size holding every entry once, in order; a small one is
// returned as it is.
func TestSplitBundle(t *testing.T) {
	var entries []string
	for i := range 7 {
		entries = append(entries, fmt.Sprintf(`{"fullUrl":"urn:uuid:%d","resource":{"resourceType":"Basic","id":"%d"},"request":{"method":"PUT","url":"Basic/%d"}}`, i, i, i))
	}
	body := []byte(`{"resourceType":"Bundle","type":"transaction","entry":[` + strings.Join(entries, ",") + `]}`)
	parts, err := splitBundle(body, 3)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range parts {
		var b struct {
			ResourceType, Type string
			Entry              []json.RawMessage
		}
		if err := json.Unmarshal(p, &b); err != nil {
			t.Fatal(err)
		}
		if b.ResourceType != "Bundle" || b.Type != "transaction" || len(b.Entry) > 3 || len(b.Entry) == 0 {
			t.Errorf("part %s", p)
		}
		for _, e := range b.Entry {
			got = append(got, string(e))
		}
	}
	if len(parts) != 3 || strings.Join(got, ",") != strings.Join(entries, ",") {
		t.Errorf("%d parts, entries %v", len(parts), got)
	}
	if one, err := splitBundle(body, 7); err != nil || len(one) != 1 || string(one[0]) != string(body) {
		t.Errorf("small bundle: %v %d", err, len(one))
	}
}
