package interaction_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nhs-junction/junction/internal/app"
	"github.com/nhs-junction/junction/internal/config"
	"github.com/nhs-junction/junction/internal/identity/nhsnumber"
	"github.com/nhs-junction/junction/internal/store"
	"github.com/nhs-junction/junction/internal/store/postgres"
	"github.com/nhs-junction/junction/internal/store/sqlite"
	"github.com/nhs-junction/junction/internal/testenv"
)

// obsPerPatient is how many Observations follow each Patient in a
// generated transaction: the shape of a vital-signs upload.
const obsPerPatient = 9

// txBundle returns a transaction Bundle of n entries: groups of one
// Patient (POST, valid NHS number from serial first+k) followed by
// obsPerPatient Observations (POST) whose subject is the Patient's
// urn:uuid fullUrl. Every entry is about 470 bytes, so 10,000 entries are
// a 4.7 MB Bundle. It is deterministic for given n and first.
func txBundle(n, first int) []byte {
	var b bytes.Buffer
	b.Grow(n * 480)
	b.WriteString(`{"resourceType":"Bundle","type":"transaction","entry":[`)
	patient := ""
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		g := i / (obsPerPatient + 1)
		if i%(obsPerPatient+1) == 0 {
			patient = fmt.Sprintf("urn:uuid:%08x-0000-4000-8000-%012x", first, g)
			fmt.Fprintf(&b, `{"fullUrl":%q,"resource":{"resourceType":"Patient","identifier":[{"system":%q,"value":%q}],`+
				`"name":[{"use":"official","family":"Testpatient%d","given":["Alex","Sam"],"prefix":["Mx"]}],"gender":"unknown",`+
				`"birthDate":"19%02d-%02d-%02d","address":[{"line":["%d High Street"],"city":"Leeds","postalCode":"LS1 4AP"}]},`+
				`"request":{"method":"POST","url":"Patient"}}`,
				patient, nhsnumber.System, nhsnumber.FromSerial(first+g), g, 30+g%70, 1+g%12, 1+g%28, 1+g%200)
			continue
		}
		k := i % (obsPerPatient + 1)
		fmt.Fprintf(&b, `{"fullUrl":"urn:uuid:%08x-0001-4000-8000-%012x","resource":{"resourceType":"Observation","status":"final",`+
			`"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs","display":"Vital Signs"}]}],`+
			`"code":{"coding":[{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}],"text":"Heart rate"},`+
			`"subject":{"reference":%q},"effectiveDateTime":"2024-%02d-%02dT%02d:15:00Z",`+
			`"valueQuantity":{"value":%d,"unit":"beats/minute","system":"http://unitsofmeasure.org","code":"/min"}},`+
			`"request":{"method":"POST","url":"Observation"}}`,
			first, i, patient, 1+k, 1+g%28, 8+k, 55+(i*7)%60)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// newSQLiteHandler is the HTTP stack as `junction serve` composes it, on
// a fresh SQLite database.
func newSQLiteHandler(tb testing.TB) (http.Handler, store.Store) {
	tb.Helper()
	lite, err := sqlite.Open(context.Background(), tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { lite.Close() })
	return newHandler(tb, lite), lite
}

func newHandler(tb testing.TB, st store.Store) http.Handler {
	tb.Helper()
	engine, err := app.WithSearch(st, "")
	if err != nil {
		tb.Fatal(err)
	}
	cfg := config.Defaults()
	cfg.MaxBodyBytes = 64 << 20
	cfg.Auth = "off" // the bundle machinery is under test here, not authorisation
	node, err := app.Build(context.Background(), cfg, engine, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatal(err)
	}
	return node.Handler
}

// post sends a Bundle to POST /fhir and returns the recorded response.
func post(h http.Handler, bundle []byte, prefer string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "http://junction.test/fhir", bytes.NewReader(bundle))
	r.Header.Set("Content-Type", "application/fhir+json")
	if prefer != "" {
		r.Header.Set("Prefer", prefer)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// peakWatch samples the Go heap in use (runtime/metrics, no
// stop-the-world) and the process's VmRSS every millisecond and keeps the
// largest values seen.
type peakWatch struct {
	heap, rss atomic.Uint64
	stop      chan struct{}
	done      sync.WaitGroup
}

var heapMetrics = []string{"/memory/classes/heap/objects:bytes", "/memory/classes/heap/unused:bytes"}

func heapInUse() uint64 {
	s := make([]metrics.Sample, len(heapMetrics))
	for i, m := range heapMetrics {
		s[i].Name = m
	}
	metrics.Read(s)
	var n uint64
	for _, x := range s {
		n += x.Value.Uint64()
	}
	return n
}

// vmRSS returns the process's resident set in bytes (0 where /proc is
// not available).
func vmRSS() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func watchPeak() *peakWatch {
	w := &peakWatch{stop: make(chan struct{})}
	sample := func() {
		if h := heapInUse(); h > w.heap.Load() {
			w.heap.Store(h)
		}
		if r := vmRSS(); r > w.rss.Load() {
			w.rss.Store(r)
		}
	}
	sample()
	w.done.Add(1)
	go func() {
		defer w.done.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-w.stop:
				sample()
				return
			case <-t.C:
				sample()
			}
		}
	}()
	return w
}

func (w *peakWatch) end() (heap, rss uint64) {
	close(w.stop)
	w.done.Wait()
	return w.heap.Load(), w.rss.Load()
}

const mib = 1 << 20

// cpuTime returns the CPU time (user and system) the process has used so
// far. On a shared machine it varies far less than the elapsed time of a
// write, which also waits for fsync.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkTransactionLarge posts one 10,000-entry transaction (4.7 MB;
// 1,000 Patients and 9,000 Observations referring to them by urn:uuid)
// per iteration through the HTTP handler on a fresh SQLite database, and
// reports entries/s, the peak Go heap in use during the request
// (peak-heap-MiB) and how far it rose above the heap before the request,
// which already holds the Bundle (extra-heap-MiB), and the peak VmRSS.
// The response is asked for with Prefer: return=minimal, as bulk loaders
// do; BenchmarkTransactionLarge/representation asks for the resources
// back.
//
//	go test -run '^$' -bench TransactionLarge -benchtime 3x ./internal/interaction
func BenchmarkTransactionLarge(b *testing.B) {
	for _, prefer := range []string{"return=minimal", "return=representation"} {
		b.Run(strings.TrimPrefix(prefer, "return="), func(b *testing.B) {
			const n = 10_000
			h, _ := newSQLiteHandler(b)
			var peakHeap, extraHeap, peakRSS uint64
			var elapsed, cpu time.Duration
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				bundle := txBundle(n, 1+i*n)
				runtime.GC()
				before := heapInUse()
				w := watchPeak()
				b.StartTimer()
				start, cpu0 := time.Now(), cpuTime()
				rec := post(h, bundle, prefer)
				elapsed += time.Since(start)
				cpu += cpuTime() - cpu0
				b.StopTimer()
				heap, rss := w.end()
				if rec.Code != http.StatusOK {
					b.Fatalf("transaction: %d %.500s", rec.Code, rec.Body.Bytes())
				}
				peakHeap, peakRSS = max(peakHeap, heap), max(peakRSS, rss)
				extraHeap = max(extraHeap, heap-min(heap, before))
				b.StartTimer()
			}
			b.ReportMetric(float64(n*b.N)/elapsed.Seconds(), "entries/s")
			b.ReportMetric(float64(cpu.Microseconds())/float64(n*b.N), "cpu-us/entry")
			b.ReportMetric(float64(peakHeap)/mib, "peak-heap-MiB")
			b.ReportMetric(float64(extraHeap)/mib, "extra-heap-MiB")
			b.ReportMetric(float64(peakRSS)/mib, "peak-rss-MiB")
		})
	}
}

// BenchmarkTransaction100 posts 100-entry transactions (10 Patients, 90
// Observations) one after another through the HTTP handler on SQLite,
// Prefer: return=minimal, and reports entries/s and the CPU time per
// entry (cpu-us/entry, steadier than the rate on a shared machine, since
// each bundle also waits for its commit's fsync): the per-bundle cost
// without the concurrency of `junction bench --scenarios transaction`.
func BenchmarkTransaction100(b *testing.B) {
	const n = 100
	for name, open := range backends {
		b.Run(name, func(b *testing.B) {
			h := open(b)
			b.ReportAllocs()
			b.SetBytes(int64(len(txBundle(n, 1))))
			var cpu time.Duration
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				// Fresh NHS numbers each time, so no Patient links to another.
				bundle := txBundle(n, 1+i*n)
				b.StartTimer()
				cpu0 := cpuTime()
				if rec := post(h, bundle, "return=minimal"); rec.Code != http.StatusOK {
					b.Fatalf("transaction: %d %.500s", rec.Code, rec.Body.Bytes())
				}
				cpu += cpuTime() - cpu0
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "entries/s")
			b.ReportMetric(float64(cpu.Microseconds())/float64(n*b.N), "cpu-us/entry")
		})
	}
}

// TestLargeTransaction posts a 2,000-entry transaction (200 Patients, 1,800
// Observations referring to them by urn:uuid) on every backend: each entry
// is created, every reference resolves to a Patient of the same
// transaction, and the search index holds every entry, although the index
// rows were written in many statements during the transaction. A second
// transaction of 2,000 entries that fails at its last entry, after every
// other entry was written, leaves nothing behind: neither versions nor
// index rows.
func TestLargeTransaction(t *testing.T) {
	const n, patients = 2000, 2000 / (obsPerPatient + 1)
	forEachBackend(t, func(t *testing.T, h http.Handler) {
		rec := post(h, txBundle(n, 1), "")
		if rec.Code != http.StatusOK {
			t.Fatalf("transaction: %d %.500s", rec.Code, rec.Body.Bytes())
		}
		var out struct {
			Type  string
			Entry []struct {
				Resource struct {
					ResourceType, ID string
					Subject          struct{ Reference string }
				}
				Response struct{ Status, Location, Etag, LastModified string }
			}
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatal(err)
		}
		if out.Type != "transaction-response" || len(out.Entry) != n {
			t.Fatalf("%s with %d entries, want transaction-response with %d", out.Type, len(out.Entry), n)
		}
		created := map[string]bool{}
		for i, e := range out.Entry {
			r := e.Response
			want := e.Resource.ResourceType + "/" + e.Resource.ID + "/_history/1"
			if r.Status != "201 Created" || r.Location != want || r.Etag != `W/"1"` || r.LastModified == "" {
				t.Fatalf("entry %d: %+v, want 201 at %s", i, r, want)
			}
			if e.Resource.ResourceType == "Patient" {
				created["Patient/"+e.Resource.ID] = true
			} else if !created[e.Resource.Subject.Reference] {
				// Each Observation follows its Patient.
				t.Fatalf("entry %d: subject %q is not a Patient of this transaction", i, e.Resource.Subject.Reference)
			}
		}
		if len(created) != patients {
			t.Fatalf("%d Patients created, want %d", len(created), patients)
		}
		for _, i := range []int{1, n/2 + 1, n - 1} { // Observations
			subject := out.Entry[i].Resource.Subject.Reference
			if got := count(t, h, "Observation?subject="+subject); got != obsPerPatient {
				t.Errorf("Observation?subject=%s: %d, want %d", subject, got, obsPerPatient)
			}
		}
		last := nhsnumber.System + "|" + nhsnumber.FromSerial(patients)
		if got := count(t, h, "Patient?identifier="+last); got != 1 {
			t.Errorf("Patient?identifier=%s: %d, want 1", last, got)
		}
		counts := func() [2]int {
			return [2]int{count(t, h, "Patient?gender=unknown"), count(t, h, "Observation?code=http://loinc.org|8867-4")}
		}
		if got := counts(); got != [2]int{patients, n - patients} {
			t.Fatalf("indexed (Patients, Observations) = %v, want (%d, %d)", got, patients, n-patients)
		}

		// All but the last entry are POSTs; the last is a PUT, applied
		// after them, whose If-Match fails.
		bad := txBundle(n-1, 10_000)
		bad = append(bad[:len(bad)-2], []byte(`,{"resource":{"resourceType":"Patient","id":"`+
			strings.TrimPrefix(strings.TrimSuffix(out.Entry[0].Response.Location, "/_history/1"), "Patient/")+
			`"},"request":{"method":"PUT","url":"`+strings.TrimSuffix(out.Entry[0].Response.Location, "/_history/1")+
			`","ifMatch":"W/\"9\""}}]}`)...)
		rec = post(h, bad, "")
		if rec.Code != http.StatusPreconditionFailed || !bytes.Contains(rec.Body.Bytes(), []byte(fmt.Sprintf(`"Bundle.entry[%d]"`, n-1))) {
			t.Fatalf("failing transaction: %d %.500s", rec.Code, rec.Body.Bytes())
		}
		if got := counts(); got != [2]int{patients, n - patients} {
			t.Errorf("after the failed transaction (Patients, Observations) = %v, want (%d, %d)", got, patients, n-patients)
		}
		first := nhsnumber.System + "|" + nhsnumber.FromSerial(10_000)
		if got := count(t, h, "Patient?identifier="+first); got != 0 {
			t.Errorf("Patient?identifier=%s of the failed transaction: %d, want 0", first, got)
		}
	})
}

// count returns the total of a search (GET /fhir/<query>&_summary=count).
func count(t *testing.T, h http.Handler, query string) int {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "http://junction.test/fhir/"+query+"&_summary=count", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var b struct{ Total int }
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &b) != nil {
		t.Fatalf("GET %s: %d %.300s", query, w.Code, w.Body.Bytes())
	}
	return b.Total
}

// backends open the HTTP stack over a fresh store of each kind; the
// PostgreSQL one skips tb when JUNCTION_TEST_POSTGRES is not set.
var backends = map[string]func(tb testing.TB) http.Handler{
	"sqlite": func(tb testing.TB) http.Handler {
		h, _ := newSQLiteHandler(tb)
		return h
	},
	"postgres": func(tb testing.TB) http.Handler {
		url := testenv.PostgresURL(tb)
		if url == "" {
			tb.Skip(testenv.PostgresEnv + " is not set")
		}
		pg, err := postgres.Open(context.Background(), url)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { pg.Close() })
		return newHandler(tb, pg)
	},
}

// forEachBackend runs fn on the HTTP stack over a fresh SQLite store and,
// when JUNCTION_TEST_POSTGRES is set, a fresh PostgreSQL schema.
func forEachBackend(t *testing.T, fn func(t *testing.T, h http.Handler)) {
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) { fn(t, backends[name](t)) })
	}
}
