package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/nhs-junction/junction/internal/store"
)

// DiskBudget is the most bytes on disk, tables and indexes together, that
// the store may spend per byte of resource JSON it holds: bodies must not
// be stored twice, and per-version bookkeeping must stay small.
const DiskBudget = 2.5

// CheckDiskBudget writes a realistic mix of versions (Observations of
// about 900 bytes with UUID ids, 1 in 5 updated, 1 in 50 deleted) to the
// empty store s, then compares size(), the backend's measure of its
// on-disk footprint, with the bytes of JSON written.
func CheckDiskBudget(t *testing.T, s store.Store, size func() int64) {
	const resources = 5000
	ctx := context.Background()
	var jsonBytes int64
	obs := func(i int, version int64) []byte {
		return fmt.Appendf(nil, `{"resourceType":"Observation","id":"%08x-7d1c-4c9e-9a61-3f0e%08x","meta":{"versionId":"%d","lastUpdated":"2026-11-25T18:00:00.000000Z","profile":["https://fhir.hl7.org.uk/StructureDefinition/UKCore-Observation"]},"status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs","display":"Vital Signs"}]}],"code":{"coding":[{"system":"http://snomed.info/sct","code":"%d","display":"Heart rate"}]},"subject":{"reference":"Patient/%08x-55aa-4f7e-8d3b-c0ffee%06x"},"effectiveDateTime":"2026-11-%02dT%02d:%02d:00Z","issued":"2026-11-25T18:00:00.000Z","performer":[{"reference":"Practitioner/p%d"}],"valueQuantity":{"value":%d.%d,"unit":"beats/minute","system":"http://unitsofmeasure.org","code":"/min"},"interpretation":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation","code":"N"}]}]}`,
			i*2654435761, i, version, 364075000+i%97, i%1000, i%1000, 1+i%28, i%24, i%60, i%300, 40+i%120, i%10)
	}
	id := func(i int) string { return fmt.Sprintf("%08x-7d1c-4c9e-9a61-3f0e%08x", i*2654435761, i) }
	batch := func(from, to int, each func(tx store.Tx, i int) error) {
		err := s.Write(ctx, func(tx store.Tx) error {
			for i := from; i < to; i++ {
				if err := each(tx, i); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for from := 0; from < resources; from += 250 {
		batch(from, from+250, func(tx store.Tx, i int) error {
			b := obs(i, 1)
			jsonBytes += int64(len(b))
			_, err := tx.Put(ctx, store.Version{Type: "Observation", ID: id(i), Version: 1, Body: b})
			return err
		})
	}
	batch(0, resources, func(tx store.Tx, i int) error {
		switch {
		case i%50 == 0:
			_, err := tx.Put(ctx, store.Version{Type: "Observation", ID: id(i), Version: 2, Deleted: true})
			return err
		case i%5 == 0:
			b := obs(i, 2)
			jsonBytes += int64(len(b))
			_, err := tx.Put(ctx, store.Version{Type: "Observation", ID: id(i), Version: 2, Body: b})
			return err
		}
		return nil
	})
	used := size()
	ratio := float64(used) / float64(jsonBytes)
	t.Logf("%d bytes on disk for %d bytes of JSON: %.2f bytes per byte", used, jsonBytes, ratio)
	if ratio > DiskBudget {
		t.Errorf("%.2f bytes on disk per byte of JSON, budget %.1f", ratio, DiskBudget)
	}
}
