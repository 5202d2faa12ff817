package index

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/nhs-junction/junction/internal/searchparam"
)

// BenchmarkIndex indexes the resources of one Synthea bundle.
func BenchmarkIndex(b *testing.B) {
	files, _ := filepath.Glob("/work/shared/data/synthea-r4/*.json")
	if len(files) == 0 {
		files, _ = filepath.Glob("../../../shared/data/synthea-r4/*.json")
	}
	if len(files) == 0 {
		b.Skip("no Synthea data")
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		b.Fatal(err)
	}
	var bundle struct {
		Entry []struct{ Resource json.RawMessage }
	}
	if err := json.Unmarshal(raw, &bundle); err != nil {
		b.Fatal(err)
	}
	ix := New(searchparam.R4(), "")
	b.ResetTimer()
	n := 0
	for b.Loop() {
		for _, e := range bundle.Entry {
			if _, err := ix.Index(e.Resource); err != nil {
				b.Fatal(err)
			}
			n++
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "resources/s")
}
