package synth

import (
	"context"
	"sync"
	"testing"
)

var mu sync.Mutex

// BenchmarkPatient measures generation, including JSON encoding, and
// reports resources per second per core.
func BenchmarkPatient(b *testing.B) {
	g := New(Options{Patients: 100000, Seed: testSeed})
	resources := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resources += len(g.Patient(i % g.Patients()))
	}
	b.ReportMetric(float64(resources)/b.Elapsed().Seconds(), "resources/s")
	b.ReportMetric(float64(resources)/float64(b.N), "resources/patient")
}

// BenchmarkPatientParallel is BenchmarkPatient on every core, as Write
// runs it.
func BenchmarkPatientParallel(b *testing.B) {
	g := New(Options{Patients: 100000, Seed: testSeed})
	var total int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		n := 0
		i := 0
		for pb.Next() {
			n += len(g.Patient(i % g.Patients()))
			i += 7
		}
		atomicAdd(&total, int64(n))
	})
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "resources/s")
}

func atomicAdd(p *int64, n int64) { mu.Lock(); *p += n; mu.Unlock() }

// BenchmarkWrite measures Write end to end (generation on every core,
// ordering, NDJSON files) for 200 patients per iteration.
func BenchmarkWrite(b *testing.B) {
	var resources int64
	for i := 0; i < b.N; i++ {
		st, err := Write(context.Background(), Options{Patients: 200, Seed: int64(i)}, b.TempDir(), FormatNDJSON, nil)
		if err != nil {
			b.Fatal(err)
		}
		resources += st.Resources
	}
	b.ReportMetric(float64(resources)/b.Elapsed().Seconds(), "resources/s")
}
