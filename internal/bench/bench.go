// Package bench is Junction's end-to-end benchmark suite, behind
// `junction bench`. It loads a synthetic UK population (internal/synth)
// into a fresh store through the real HTTP stack, then measures ingest,
// reads, searches, $everything and transactions with concurrent
// keep-alive clients.
//
// Every scenario is measured beside a baseline taken in the same run on
// the same machine, and reports the ratio of the two. Absolute figures
// move with whatever else the machine is doing; the ratio mostly does
// not, so it is the figure to compare across runs and machines.
//
// The server and the load generator share one process (and so its cores
// and its resident memory); the baselines are driven the same way, so the
// sharing costs both sides alike.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Scenarios lists the scenarios in the order Run performs them.
var Scenarios = []string{"ingest", "read", "search", "everything", "transaction", "hl7"}

// Options configure a run.
type Options struct {
	// Database is a PostgreSQL URL. Empty means embedded SQLite. The run
	// creates its own schemas in that database and drops them at the end.
	Database string
	// Dir is where the working directory (population files, SQLite
	// databases) is created and removed; empty means os.TempDir().
	Dir string
	// Patients is the size of the synthetic population (at least 1).
	Patients int
	// Seed selects the population.
	Seed int64
	// Clients is the number of concurrent clients (at least 1).
	Clients int
	// Duration is how long the read scenario drives the server, and the
	// time scale of the others (see the README).
	Duration time.Duration
	// Scenarios to run, from Scenarios; empty means all. The population is
	// always loaded, since every other scenario reads it.
	Scenarios []string
	// Validation is the server's validation setting: "base" or "off".
	Validation string
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// Run performs the selected scenarios and returns their results in order.
// On an error it returns the results measured so far with it.
func Run(ctx context.Context, opts Options) ([]Result, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	b := &bench{opts: opts, want: map[string]bool{}}
	for _, s := range opts.Scenarios {
		b.want[s] = true
	}
	if len(b.want) == 0 {
		for _, s := range Scenarios {
			b.want[s] = true
		}
	}
	err := b.run(ctx)
	return b.results, err
}

func (o *Options) check() error {
	if o.Patients < 1 {
		return errors.New("bench: Patients must be at least 1")
	}
	if o.Clients < 1 {
		return errors.New("bench: Clients must be at least 1")
	}
	if o.Duration <= 0 {
		return errors.New("bench: Duration must be positive")
	}
	if o.Validation == "" {
		o.Validation = "base"
	}
	for _, s := range o.Scenarios {
		if !slices.Contains(Scenarios, s) {
			return fmt.Errorf("bench: unknown scenario %q (known: %s)", s, strings.Join(Scenarios, ", "))
		}
	}
	return nil
}

// bench is the state of one run.
type bench struct {
	opts    Options
	want    map[string]bool
	results []Result
	pop     *population
	env     *env
	client  *http.Client
	idleRSS int64

	rawRate          float64 // ingest baseline, resources/s
	rawDisk          int64   // ingest baseline's footprint, bytes
	readP50, readP99 float64 // read scenario, ms: the search baseline
}

func (b *bench) add(rs ...Result) { b.results = append(b.results, rs...) }

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.opts.Log, "bench: "+format+"\n", args...)
}

func (b *bench) run(ctx context.Context) error {
	work, err := os.MkdirTemp(b.opts.Dir, "junction-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	start := time.Now()
	b.pop, err = preparePopulation(ctx, work+"/population", b.opts.Patients, b.opts.Seed)
	if err != nil {
		return fmt.Errorf("bench: generate population: %w", err)
	}
	b.logf("population: %d patients, %d resources, %.1f MiB of JSON, generated in %s",
		b.opts.Patients, b.pop.resources, float64(b.pop.jsonBytes)/(1<<20), time.Since(start).Round(time.Millisecond))

	backend := "sqlite"
	if b.opts.Database != "" {
		backend = "postgres"
	}
	b.env, err = openEnv(ctx, b.opts, work)
	if err != nil {
		return err
	}
	defer b.env.close()
	b.client = newClient(b.opts.Clients)
	defer b.client.CloseIdleConnections()
	b.logf("server on %s (%s), %d clients, GOMAXPROCS %d", b.env.base, backend, b.opts.Clients, runtime.GOMAXPROCS(0))

	b.add(measured("population.resources", float64(b.pop.resources), "resources"),
		measured("population.json", float64(b.pop.jsonBytes)/(1<<20), "MiB"))
	b.idleRSS = procStatus("VmRSS")

	steps := []struct {
		name string
		need bool
		fn   func(context.Context) error
	}{
		// The population is loaded whatever was asked: everything else reads it.
		{"ingest", true, b.ingest},
		// Search latencies are compared with read latencies.
		{"read", b.want["read"] || b.want["search"], b.read},
		{"search", b.want["search"], b.search},
		{"everything", b.want["everything"], b.everything},
		// Last: it adds resources the other scenarios should not see.
		{"transaction", b.want["transaction"], b.transaction},
		// HL7 v2 over MLLP into a store of its own.
		{"hl7", b.want["hl7"], b.hl7},
	}
	for _, s := range steps {
		if !s.need {
			continue
		}
		t0 := time.Now()
		if err := s.fn(ctx); err != nil {
			return fmt.Errorf("bench: %s: %w", s.name, err)
		}
		b.logf("%s done in %s", s.name, time.Since(t0).Round(time.Millisecond))
	}
	if b.idleRSS > 0 {
		b.add(measured("process.rss_idle", mib(b.idleRSS), "MiB"))
	}
	if hwm := procStatus("VmHWM"); hwm > 0 {
		b.add(against("process.rss_peak", mib(hwm), "MiB", mib(b.idleRSS)))
	}
	return nil
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// rssResult reports the peak RSS seen during a scenario against the RSS
// of the idle server before the population was loaded.
func (b *bench) rssResult(scenario string, peak int64) []Result {
	if peak <= 0 || b.idleRSS <= 0 {
		return nil
	}
	return []Result{against(scenario+".rss_max", mib(peak), "MiB", mib(b.idleRSS))}
}

// errResults reports failed requests of a drive, which should be none.
func (b *bench) errResults(name string, r run) []Result {
	if r.errs == 0 {
		return nil
	}
	b.logf("%s: %d failed requests, first: %s", name, r.errs, r.firstErr)
	return []Result{measured(name+".errors", float64(r.errs), "requests")}
}
