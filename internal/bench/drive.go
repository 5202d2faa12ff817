package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

// newClient returns the load generator's HTTP client. Keep-alive with at
// least one idle connection per client, so every request reuses a warm
// connection, as a real integration engine's pool would; without it the
// measurement would be of TCP handshakes.
func newClient(clients int) *http.Client {
	tr := &http.Transport{
		Proxy:       nil,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		// No overall cap: the server and a baseline are on different
		// ports, and each keeps its own warm connections.
		MaxIdleConns:        0,
		MaxIdleConnsPerHost: 2 * clients,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &http.Client{Transport: tr, Timeout: 5 * time.Minute}
}

// serve starts h on 127.0.0.1 on a free port and returns its base URL
// (http://127.0.0.1:port) and a function that stops it. The server
// settings are those app.Serve uses, so the bare-handler baselines run in
// the same http.Server as Junction does.
func serve(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(slog.DiscardHandler, slog.LevelWarn),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	}
	return "http://" + ln.Addr().String(), stop, nil
}

// bareHandler serves fixed bytes by URL path from memory, the way the
// simplest possible FHIR endpoint would: the baseline for reads and
// $everything.
func bareHandler(bodies map[string][]byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := bodies[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/fhir+json")
		_, _ = w.Write(b)
	})
}

// run is what one drive measured.
type run struct {
	n        int // requests answered with the expected status
	errs     int // requests that failed or got another status
	firstErr string
	elapsed  time.Duration
	lat      []time.Duration // of the successful requests, sorted
}

func (r run) perSecond() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.n) / r.elapsed.Seconds()
}

// pct returns the p-quantile (0 < p <= 1) of the latencies in
// milliseconds, by the nearest-rank method.
func (r run) pct(p float64) float64 {
	if len(r.lat) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(r.lat)))) - 1
	i = max(0, min(i, len(r.lat)-1))
	return float64(r.lat[i]) / float64(time.Millisecond)
}

// drive runs clients goroutines that each send build's requests one after
// another until d has passed, and records the latency of every answer
// with status want. A request in flight at the deadline is allowed to
// finish and counts, and the elapsed time runs until the last one ends:
// cutting requests off would bias against slow ones, and a cancelled
// write may still have been done. Each goroutine has its own random
// source seeded by its number, so a baseline and the server under test
// get the same sequence of requests.
func drive(ctx context.Context, c *http.Client, clients int, d time.Duration, want int, build func(r *rand.Rand) (*http.Request, error)) run {
	type part struct {
		lat      []time.Duration
		errs     int
		firstErr string
	}
	parts := make([]part, clients)
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for w := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 0xbe4c))
			p := &parts[w]
			fail := func(msg string) {
				p.errs++
				if p.firstErr == "" {
					p.firstErr = msg
				}
			}
			for ctx.Err() == nil && time.Now().Before(deadline) {
				req, err := build(rng)
				if err != nil {
					fail(err.Error())
					return
				}
				t0 := time.Now()
				resp, err := c.Do(req.WithContext(ctx))
				if err != nil {
					if ctx.Err() == nil {
						fail(err.Error())
					}
					continue
				}
				var snippet []byte
				if resp.StatusCode != want {
					snippet, _ = io.ReadAll(io.LimitReader(resp.Body, 300))
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat := time.Since(t0)
				switch {
				case err != nil:
					if ctx.Err() == nil {
						fail(err.Error())
					}
				case resp.StatusCode != want:
					fail(fmt.Sprintf("%s %s: HTTP %d: %s", req.Method, req.URL.Path, resp.StatusCode, snippet))
				default:
					p.lat = append(p.lat, lat)
				}
			}
		}()
	}
	wg.Wait()
	out := run{elapsed: time.Since(start)}
	for _, p := range parts {
		out.lat = append(out.lat, p.lat...)
		out.errs += p.errs
		if out.firstErr == "" {
			out.firstErr = p.firstErr
		}
	}
	out.n = len(out.lat)
	slices.Sort(out.lat)
	return out
}

// rounds is how many alternating slices compare splits its time into.
const rounds = 4

// compare drives the server under test and its baseline alternately, in
// rounds slices of d/rounds each (so each side runs for d in all), and
// returns the merged run of each.
// On a shared machine the load from elsewhere comes and goes in bursts
// of seconds; alternating makes both sides live through much the same
// bursts, so their ratio is steadier than two back-to-back runs give.
func compare(ctx context.Context, d time.Duration, server, baseline func(d time.Duration) run) (run, run) {
	var a, b run
	slice := d / rounds
	for range rounds {
		if ctx.Err() != nil {
			break
		}
		a = a.merge(server(slice))
		b = b.merge(baseline(slice))
	}
	return a, b
}

// merge returns r and o as one run: counts and time add up, latencies
// pool.
func (r run) merge(o run) run {
	out := run{n: r.n + o.n, errs: r.errs + o.errs, firstErr: r.firstErr, elapsed: r.elapsed + o.elapsed}
	if out.firstErr == "" {
		out.firstErr = o.firstErr
	}
	out.lat = append(slices.Clone(r.lat), o.lat...)
	slices.Sort(out.lat)
	return out
}

// get fetches url and returns its status and body.
func get(ctx context.Context, c *http.Client, url string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Accept", "application/fhir+json")
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// parallel calls fn(i) for i in [0, n) on up to workers goroutines and
// returns the first error; after an error the remaining calls are skipped.
func parallel(ctx context.Context, n, workers int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, max(n, 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(ctx, i); err != nil {
					cancel(err)
				}
			}
		}()
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	return context.Cause(ctx)
}
