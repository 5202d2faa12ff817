package match

import (
	"flag"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/nhs-junction/junction/internal/synth"
)

// The default population keeps the test near ten seconds; the figures in
// the README come from -match.patients=20000.
var qualityPatients = flag.Int("match.patients", 4000, "population size of the matching quality test")

// quality runs every synthetic patient as a $match query against the
// population, with the same blocks the server searches, and counts the
// grades against the generator's ground truth (synth.Generator.DuplicateOf).
type quality struct {
	duplicates         int // true pairs
	found              int // true pairs graded probable or certain
	certain, certainOK int // pairs graded certain, and of those true
	probable, probOK   int // pairs graded probable, and of those true
	missed             []string
}

func measure(t testing.TB, n int, seed int64) quality {
	g := synth.New(synth.Options{Patients: n, Seed: seed})
	pats := make([]*Patient, n)
	// Generating a patient builds the whole record (about 7 ms), so the
	// population is generated on every core.
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	errs := make([]error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				pats[i], errs[w] = Parse(g.Patient(i)[0])
				if errs[w] != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	byNHS, byDate, byPrefix := map[string][]int{}, map[string][]int{}, map[string][]int{}
	for i, p := range pats {
		for _, x := range p.NHS {
			byNHS[x] = append(byNHS[x], i)
		}
		byDate[p.BirthDate] = append(byDate[p.BirthDate], i)
		for _, b := range Blocks(p) {
			if b.FamilyPrefix != "" {
				byPrefix[b.FamilyPrefix] = append(byPrefix[b.FamilyPrefix], i)
			}
		}
	}
	// Two registrations are the same person when they share an original:
	// two duplicates of one patient are a true pair as well.
	root := func(a int) int {
		if j, ok := g.DuplicateOf(a); ok {
			return j
		}
		return a
	}
	truth := func(a, b int) bool { return root(a) == root(b) }
	var q quality
	for i := range n {
		cands := map[int]bool{}
		for _, b := range Blocks(pats[i]) {
			var pool []int
			switch {
			case b.NHS != "":
				pool = byNHS[b.NHS]
			case b.BirthDate != "":
				pool = byDate[b.BirthDate]
			default:
				pool = byPrefix[b.FamilyPrefix]
			}
			for _, c := range pool {
				if c != i && b.Matches(pats[c]) {
					cands[c] = true
				}
			}
		}
		j, dup := g.DuplicateOf(i)
		if dup {
			q.duplicates++
		}
		foundJ := false
		for c := range cands {
			r := Compare(pats[i], pats[c])
			ok := truth(i, c)
			switch r.Grade {
			case Certain:
				q.certain++
				if ok {
					q.certainOK++
				}
			case Probable:
				q.probable++
				if ok {
					q.probOK++
				}
			}
			if dup && c == j && (r.Grade == Certain || r.Grade == Probable) {
				foundJ = true
			}
		}
		if dup && foundJ {
			q.found++
		} else if dup && len(q.missed) < 10 {
			r := Compare(pats[i], pats[j])
			q.missed = append(q.missed, fmt.Sprintf("%d~%d %s %.2f %v", i, j, r.Grade, r.Score, r.Fields))
		}
	}
	return q
}

// TestMatchQuality checks the quality bar on the synthetic
// population with injected duplicates: no false certain match (precision
// 1.0) and probable-or-better recall of at least 0.95.
// go test ./internal/identity/match -run Quality -v -match.patients=100000
func TestMatchQuality(t *testing.T) {
	if testing.Short() {
		t.Skip("quality measurement")
	}
	q := measure(t, *qualityPatients, 42)
	precision := 1.0
	if q.certain > 0 {
		precision = float64(q.certainOK) / float64(q.certain)
	}
	probPrecision := 1.0
	if q.probable > 0 {
		probPrecision = float64(q.probOK) / float64(q.probable)
	}
	recall := float64(q.found) / float64(max(q.duplicates, 1))
	t.Logf("patients %d, duplicate pairs %d: certain precision %.4f (%d/%d), probable precision %.4f (%d/%d), probable-or-better recall %.4f (%d/%d)",
		*qualityPatients, q.duplicates, precision, q.certainOK, q.certain, probPrecision, q.probOK, q.probable, recall, q.found, q.duplicates)
	if q.duplicates == 0 {
		t.Fatal("the population has no duplicates to find")
	}
	if precision != 1 {
		t.Errorf("certain precision %.4f, want 1.0", precision)
	}
	if recall < 0.95 {
		t.Errorf("probable-or-better recall %.4f, want >= 0.95; missed: %v", recall, q.missed)
	}
}

// BenchmarkMatchQuality reports the same figures as metrics.
func BenchmarkMatchQuality(b *testing.B) {
	for range b.N {
		q := measure(b, 5000, 7)
		b.ReportMetric(float64(q.certainOK)/float64(max(q.certain, 1)), "certain-precision")
		b.ReportMetric(float64(q.found)/float64(max(q.duplicates, 1)), "probable-recall")
	}
}
