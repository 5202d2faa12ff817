package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"
)

// read drives GET /fhir/{type}/{id} over random ids of the population
// with every client for the whole duration. The baseline is a bare
// net/http handler serving the same bytes from a map, driven the same way
// (the same clients, the same random ids in the same order).
func (b *bench) read(ctx context.Context) error {
	// Fetch every sampled resource once: the baseline needs the bytes,
	// and the server gets the same warm start the map has.
	paths := make([]string, len(b.pop.sample))
	bodies := make(map[string][]byte, len(paths))
	var mu sync.Mutex
	err := parallel(ctx, len(paths), b.opts.Clients, func(ctx context.Context, i int) error {
		url := b.env.base + "/" + b.pop.sample[i]
		status, body, err := get(ctx, b.client, url)
		if err != nil {
			return err
		}
		if status != http.StatusOK {
			return fmt.Errorf("GET %s: HTTP %d", url, status)
		}
		path := strings.TrimPrefix(url, strings.TrimSuffix(b.env.base, "/fhir"))
		mu.Lock()
		paths[i], bodies[path] = path, body
		mu.Unlock()
		return nil
	})
	if err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}

	readOf := func(root string) func(r *rand.Rand) (*http.Request, error) {
		return func(r *rand.Rand) (*http.Request, error) {
			req, err := http.NewRequest(http.MethodGet, root+paths[r.IntN(len(paths))], nil)
			if err == nil {
				req.Header.Set("Accept", "application/fhir+json")
			}
			return req, err
		}
	}
	root := strings.TrimSuffix(b.env.base, "/fhir")
	bareRoot, stop, err := serve(bareHandler(bodies))
	if err != nil {
		return err
	}
	defer stop()
	watch := watchRSS()
	srv, bare := compare(ctx, b.opts.Duration,
		func(d time.Duration) run {
			return drive(ctx, b.client, b.opts.Clients, d, http.StatusOK, readOf(root))
		},
		func(d time.Duration) run {
			return drive(ctx, b.client, b.opts.Clients, d, http.StatusOK, readOf(bareRoot))
		})
	// The peak covers the baseline's slices too; the bare handler's few
	// MiB of map are already resident before it starts.
	peak := watch.end()
	if err := ctx.Err(); err != nil {
		return err
	}
	b.logf("read: %.0f requests/s (bare handler %.0f), p50 %.2f ms, p99 %.2f ms",
		srv.perSecond(), bare.perSecond(), srv.pct(0.50), srv.pct(0.99))
	if srv.n == 0 {
		return fmt.Errorf("no read succeeded: %s", srv.firstErr)
	}
	b.readP50, b.readP99 = srv.pct(0.50), srv.pct(0.99)
	if !b.want["read"] {
		return nil
	}
	b.add(against("read.requests_per_s", srv.perSecond(), "requests/s", bare.perSecond()),
		against("read.p50", srv.pct(0.50), "ms", bare.pct(0.50)),
		against("read.p99", srv.pct(0.99), "ms", bare.pct(0.99)))
	b.add(b.errResults("read", srv)...)
	b.add(b.rssResult("read", peak)...)
	return nil
}
