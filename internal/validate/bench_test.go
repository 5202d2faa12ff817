package validate

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nhs-junction/junction/internal/fhirpkg"
)

func benchFile(b *testing.B, name string) {
	dir, err := fhirpkg.Dir()
	if err != nil {
		b.Skipf("FHIR package unavailable: %v", err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		b.Fatal(err)
	}
	Validate(raw, Options{}) // warm the tables and caches
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		Validate(raw, Options{})
	}
}

// BenchmarkValidate measures Validate on typical resources of the
// official examples, the cost per resource of validation on write.
func BenchmarkValidate(b *testing.B) {
	b.Run("Patient", func(b *testing.B) { benchFile(b, "Patient-example.json") })
	b.Run("Observation", func(b *testing.B) { benchFile(b, "Observation-example.json") })
	b.Run("UKCorePatient", func(b *testing.B) {
		ps, reg := loadUKCore(b)
		raw := []byte(readUKCore(b, "UKCore-Patient-RichardSmith-Example.json"))
		opts := Options{Terminology: reg, Profiles: ps, Profile: "https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient"}
		Validate(raw, opts)
		b.SetBytes(int64(len(raw)))
		b.ReportAllocs()
		for b.Loop() {
			Validate(raw, opts)
		}
	})
}
