package searchtest

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/nhs-junction/junction/internal/search"
	"github.com/nhs-junction/junction/internal/store"
)

// BenchPatients is the population the benchmarks load: each patient has
// benchObsPerPatient observations. JUNCTION_BENCH_PATIENTS overrides it
// (20,000 patients make about a million resources).
func benchPatients() int {
	if n, err := strconv.Atoi(os.Getenv("JUNCTION_BENCH_PATIENTS")); err == nil && n > 0 {
		return n
	}
	return 200
}

const benchObsPerPatient = 49

var benchCodes = []string{"8867-4", "29463-7", "8310-5", "85354-9", "2339-0", "718-7", "4548-4"}

// LoadPopulation writes n patients, each with an organisation reference
// and benchObsPerPatient observations spread over benchCodes, in
// transactions of about 500 resources.
func LoadPopulation(tb testing.TB, e *search.Engine, n int) {
	ctx := context.Background()
	start := time.Now()
	const perTx = 10
	for p0 := 0; p0 < n; p0 += perTx {
		err := e.Write(ctx, func(tx store.Tx) error {
			for p := p0; p < min(n, p0+perTx); p++ {
				pid := fmt.Sprintf("bp%d", p)
				body := fmt.Sprintf(`{"resourceType":"Patient","id":"%s","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"999%07d"}],"name":[{"family":"Family%d","given":["Given%d"]}],"gender":"%s","birthDate":"19%02d-%02d-%02d","managingOrganization":{"reference":"Organization/org%d"}}`,
					pid, p, p%997, p%101, []string{"male", "female"}[p%2], p%100, p%12+1, p%28+1, p%50)
				if _, err := tx.Put(ctx, store.Version{Type: "Patient", ID: pid, Version: 1, Body: []byte(body)}); err != nil {
					return err
				}
				for o := 0; o < benchObsPerPatient; o++ {
					code := benchCodes[o%len(benchCodes)]
					body := fmt.Sprintf(`{"resourceType":"Observation","id":"bo%d-%d","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"%s"}]},"subject":{"reference":"Patient/%s"},"effectiveDateTime":"20%02d-%02d-%02dT10:00:00Z","valueQuantity":{"value":%d.%d,"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"}}`,
						p, o, code, pid, o%25, o%12+1, o%28+1, 40+o, p%10)
					if _, err := tx.Put(ctx, store.Version{Type: "Observation", ID: fmt.Sprintf("bo%d-%d", p, o), Version: 1, Body: []byte(body)}); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	for o := 0; o < 50; o++ {
		body := fmt.Sprintf(`{"resourceType":"Organization","id":"org%d","name":"Trust %d"}`, o, o)
		if err := e.Write(ctx, func(tx store.Tx) error {
			_, err := tx.Put(ctx, store.Version{Type: "Organization", ID: fmt.Sprintf("org%d", o), Version: 1, Body: []byte(body)})
			return err
		}); err != nil {
			tb.Fatal(err)
		}
	}
	total := n*(benchObsPerPatient+1) + 50
	tb.Logf("loaded %d resources in %s (%.0f/s)", total, time.Since(start).Round(time.Millisecond), float64(total)/time.Since(start).Seconds())
}

// Bench runs the search benchmarks of issue 3 on one backend: a token
// search on a patient's observations, a chained search, a _revinclude
// search, and paging through every observation with one code.
func Bench(b *testing.B, open func(tb testing.TB) Backend) {
	be := open(b)
	n := benchPatients()
	ctx := context.Background()
	if _, err := be.Engine.Read(ctx, "Organization", "org49"); err == nil {
		b.Logf("using the population already loaded")
	} else {
		LoadPopulation(b, be.Engine, n)
	}
	i := 0
	queries := []struct{ name, typ, qs string }{
		{"TokenOnPatient", "Observation", "subject=Patient/bp%d&code=http://loinc.org|8867-4"},
		{"Chained", "Observation", "subject:Patient.identifier=https://fhir.nhs.uk/Id/nhs-number|999%07d&code=8867-4"},
		{"RevInclude", "Patient", "_id=bp%d&_revinclude=Observation:subject"},
	}
	for _, qd := range queries {
		b.Run(qd.name, func(b *testing.B) {
			var lat []time.Duration
			for b.Loop() {
				q := parse(b, qd.typ, fmt.Sprintf(qd.qs, i%n))
				i += 7919
				start := time.Now()
				res, err := be.Engine.Search(ctx, q, search.Options{})
				lat = append(lat, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
				if len(res.Matches) == 0 {
					b.Fatalf("%s: no matches", qd.name)
				}
			}
			reportLatency(b, lat)
		})
	}
	// Paging streams up to 100,000 matches (issue 3) once per run,
	// whatever b.N, so the query benchmarks above can run many times.
	b.Run("Paging", func(b *testing.B) {
		resources := 0
		start := time.Now()
		q := parse(b, "Observation", "code=8867-4&_count=1000&_total=none")
		opt := search.Options{}
		for resources < 100000 {
			res, err := be.Engine.Search(ctx, q, opt)
			if err != nil {
				b.Fatal(err)
			}
			resources += len(res.Matches)
			if res.Next == nil {
				break
			}
			opt.Cursor = res.Next
		}
		b.ReportMetric(float64(resources)/time.Since(start).Seconds(), "resources/s")
		b.ReportMetric(float64(resources), "resources")
	})
}

// reportLatency adds the median and 99th percentile to the benchmark's
// output, the figures issue 3 sets targets for.
func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
