package bench

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/nhs-junction/junction/internal/interaction"
)

// everythingPatients bounds how many patients' $everything responses the
// baseline holds in memory.
const everythingPatients = 20

// everythingSize is the record size the $everything patients are chosen
// around: a patient with about 500 resources.
const everythingSize = 500

// everythingQuery asks for a first page of 100 entries.
const everythingQuery = "?_count=100"

// everything measures the first page (100 entries) of GET
// Patient/{id}/$everything for random patients among those whose records
// are nearest everythingSize resources, with one client (the latency a
// clinician's screen waits for), against a bare handler serving the
// same Bundles from memory to one client.
func (b *bench) everything(ctx context.Context) error {
	n := min(len(b.pop.patients), everythingPatients)
	pats := slices.Clone(b.pop.patients)
	slices.SortStableFunc(pats, func(x, y patient) int {
		return cmp.Compare(abs(x.resources-everythingSize), abs(y.resources-everythingSize))
	})
	pats = pats[:n]
	size := 0
	for _, p := range pats {
		size += p.resources
	}
	root := strings.TrimSuffix(b.env.base, "/fhir")
	paths := make([]string, n)
	bodies := make(map[string][]byte, n)
	for i := range n {
		paths[i] = "/fhir/Patient/" + pats[i].id + "/$everything" + everythingQuery
		status, body, err := get(ctx, b.client, root+paths[i])
		if err != nil {
			return err
		}
		if status != http.StatusOK {
			if i == 0 {
				why := fmt.Sprintf("$everything not available (HTTP %d)", status)
				b.logf("everything: skipped: %s: %s", why, diagnostics(body))
				b.add(skipped("everything", why))
				return nil
			}
			return fmt.Errorf("GET %s: HTTP %d: %s", paths[i], status, diagnostics(body))
		}
		bodies[strings.TrimSuffix(paths[i], everythingQuery)] = body // the bare handler looks up the path
	}
	d := max(b.opts.Duration/2, 250*time.Millisecond)
	getOf := func(root string) func(r *rand.Rand) (*http.Request, error) {
		return func(r *rand.Rand) (*http.Request, error) {
			req, err := http.NewRequest(http.MethodGet, root+paths[r.IntN(len(paths))], nil)
			if err == nil {
				req.Header.Set("Accept", "application/fhir+json")
			}
			return req, err
		}
	}
	bareRoot, stop, err := serve(bareHandler(bodies))
	if err != nil {
		return err
	}
	defer stop()
	watch := watchRSS()
	srv, bare := compare(ctx, d,
		func(d time.Duration) run { return drive(ctx, b.client, 1, d, http.StatusOK, getOf(root)) },
		func(d time.Duration) run { return drive(ctx, b.client, 1, d, http.StatusOK, getOf(bareRoot)) })
	peak := watch.end()
	if err := ctx.Err(); err != nil {
		return err
	}
	if srv.n == 0 {
		return fmt.Errorf("no $everything succeeded: %s", srv.firstErr)
	}
	b.logf("everything: %d patients of %d resources on average: p50 %.2f ms, p99 %.2f ms (bare handler p50 %.2f ms)", n, size/n, srv.pct(0.5), srv.pct(0.99), bare.pct(0.5))
	b.add(measured("everything.record_resources", float64(size)/float64(n), "resources"))
	b.add(against("everything.p50", srv.pct(0.50), "ms", bare.pct(0.50)),
		against("everything.p99", srv.pct(0.99), "ms", bare.pct(0.99)))
	b.add(b.errResults("everything", srv)...)
	b.add(b.rssResult("everything", peak)...)
	return nil
}

// transaction posts transaction Bundles of txEntries new Observations for
// existing patients (copies of Observations in the population, each
// entry a POST with a urn:uuid fullUrl) from every client, for half the
// duration. The baseline is the ingest baseline's rate: the same durable
// inserts with nothing of FHIR around them.
func (b *bench) transaction(ctx context.Context) error {
	if len(b.pop.observations) == 0 {
		b.add(skipped("transaction", "the population has no Observations to copy"))
		return nil
	}
	bundles := make([][]byte, txBundles)
	k := 0
	for i := range bundles {
		var buf bytes.Buffer
		buf.WriteString(`{"resourceType":"Bundle","type":"transaction","entry":[`)
		for j := range txEntries {
			if j > 0 {
				buf.WriteByte(',')
			}
			buf.WriteString(`{"fullUrl":"urn:uuid:` + interaction.NewID() + `","resource":`)
			buf.Write(b.pop.observations[k%len(b.pop.observations)])
			buf.WriteString(`,"request":{"method":"POST","url":"Observation"}}`)
			k++
		}
		buf.WriteString("]}")
		bundles[i] = buf.Bytes()
	}
	d := max(b.opts.Duration/2, 250*time.Millisecond)
	watch := watchRSS()
	r := drive(ctx, b.client, b.opts.Clients, d, http.StatusOK, func(r *rand.Rand) (*http.Request, error) {
		req, err := http.NewRequest(http.MethodPost, b.env.base, bytes.NewReader(bundles[r.IntN(len(bundles))]))
		if err == nil {
			req.Header.Set("Content-Type", "application/fhir+json")
			req.Header.Set("Prefer", "return=minimal")
		}
		return req, err
	})
	peak := watch.end()
	if err := ctx.Err(); err != nil {
		return err
	}
	if r.n == 0 {
		return fmt.Errorf("no transaction succeeded: %s", r.firstErr)
	}
	rate := float64(r.n*txEntries) / r.elapsed.Seconds()
	b.logf("transaction: %d bundles, %.0f entries/s, p50 %.1f ms per bundle", r.n, rate, r.pct(0.5))
	b.add(against("transaction.entries_per_s", rate, "entries/s", b.rawRate),
		measured("transaction.p50", r.pct(0.50), "ms"),
		measured("transaction.p99", r.pct(0.99), "ms"))
	b.add(b.errResults("transaction", r)...)
	b.add(b.rssResult("transaction", peak)...)
	return nil
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
