package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// searchQuery is one of the typical searches, built for one patient of a
// population; ok is false when the record (or the population) offers no
// value for it.
type searchQuery struct {
	name string
	// one drives the query from one client (the latency a single user
	// waits for) rather than every client (the server under load).
	one   bool
	build func(pop *population, p *patient) (query string, ok bool)
}

// searchQueries are the searches a clinical system makes most: a
// patient's results by code (also the code the patient has most of) and
// by date, patient lookup by name and by NHS number, a chain, both kinds
// of include, a reverse chain and a sort; then, from one client, the
// broad searches whose first page must not grow with the store: the most
// common code, a recent date range, a quantity range, a type alone, and
// the most common code sorted by date.
var searchQueries = []searchQuery{
	{"obs_by_code", false, func(_ *population, p *patient) (string, bool) {
		return "Observation?" + enc("subject", "Patient/"+p.id, "code", p.obsCode), p.obsCode != ""
	}},
	{"obs_by_top_code", false, func(_ *population, p *patient) (string, bool) {
		return "Observation?" + enc("subject", "Patient/"+p.id, "code", p.topCode), p.topCode != ""
	}},
	{"obs_by_date", false, func(_ *population, p *patient) (string, bool) {
		return "Observation?" + enc("subject", "Patient/"+p.id,
			"date", fmt.Sprintf("ge%04d-01-01", p.obsYear), "date", fmt.Sprintf("lt%04d-01-01", p.obsYear+1)), p.obsYear != 0
	}},
	{"patient_by_family", false, func(_ *population, p *patient) (string, bool) {
		return "Patient?" + enc("family", p.family), p.family != ""
	}},
	{"patient_by_identifier", false, func(_ *population, p *patient) (string, bool) {
		return "Patient?" + enc("identifier", nhsNumberSystem+"|"+p.nhs), p.nhs != ""
	}},
	{"chained", false, func(_ *population, p *patient) (string, bool) {
		return "Observation?" + enc("subject:Patient.identifier", nhsNumberSystem+"|"+p.nhs, "code", p.obsCode), p.nhs != "" && p.obsCode != ""
	}},
	{"include", false, func(_ *population, p *patient) (string, bool) {
		return "Observation?" + enc("subject", "Patient/"+p.id, "code", p.obsCode, "_include", "Observation:performer"), p.obsCode != ""
	}},
	{"revinclude", false, func(_ *population, p *patient) (string, bool) {
		return "Patient?" + enc("_id", p.id, "_revinclude", "Condition:subject"), true
	}},
	{"has", false, func(_ *population, p *patient) (string, bool) {
		return "Patient?" + enc("_has:Condition:subject:code", p.condCode), p.condCode != ""
	}},
	{"sorted", false, func(_ *population, p *patient) (string, bool) {
		return "Observation?" + enc("subject", "Patient/"+p.id, "_sort", "-date"), true
	}},
	{"broad_code", true, func(pop *population, _ *patient) (string, bool) {
		c := pop.commonCode()
		return "Observation?" + enc("code", c, "_count", "20"), c != ""
	}},
	{"broad_date", true, func(pop *population, _ *patient) (string, bool) {
		y := pop.recentYear()
		return "Observation?" + enc("date", fmt.Sprintf("ge%04d-01-01", y), "_count", "20"), y != 0
	}},
	{"broad_quantity", true, func(*population, *patient) (string, bool) {
		return "Observation?" + enc("value-quantity", "gt150", "_count", "20"), true
	}},
	{"broad_type", true, func(*population, *patient) (string, bool) {
		return "Observation?" + enc("_count", "20"), true
	}},
	{"broad_code_sorted", true, func(pop *population, _ *patient) (string, bool) {
		c := pop.commonCode()
		return "Observation?" + enc("code", c, "_sort", "-date", "_count", "20"), c != ""
	}},
}

// enc encodes name, value pairs as a query string in the order given.
func enc(kv ...string) string {
	var sb strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			sb.WriteByte('&')
		}
		sb.WriteString(url.QueryEscape(kv[i]))
		sb.WriteByte('=')
		sb.WriteString(url.QueryEscape(kv[i+1]))
	}
	return sb.String()
}

// search measures p50 and p99 of each typical query, each for a share of
// the duration with every client, against the read scenario's p50 and
// p99 from the same run: how much more a search costs than the simplest
// request the server answers. Then it measures streaming: one client
// following next links through every Observation, against paging through
// the Observation type history the same way (the same page size, the same
// Bundle shape, no index).
func (b *bench) search(ctx context.Context) error {
	status, body, err := get(ctx, b.client, b.env.base+"/Observation?_count=1")
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		why := fmt.Sprintf("search not available (GET Observation?_count=1: HTTP %d)", status)
		b.logf("search: skipped: %s: %s", why, diagnostics(body))
		b.add(skipped("search", why))
		return nil
	}
	per := max(b.opts.Duration/time.Duration(len(searchQueries)), 250*time.Millisecond)
	watch := watchRSS()
	err = func() error {
		for _, q := range searchQueries {
			if err := b.searchOne(ctx, q, per); err != nil {
				return err
			}
		}
		return b.stream(ctx)
	}()
	peak := watch.end()
	if err != nil {
		return err
	}
	b.add(b.rssResult("search", peak)...)
	return nil
}

func (b *bench) searchOne(ctx context.Context, q searchQuery, d time.Duration) error {
	name := "search." + q.name
	var queries []string
	seen := map[string]bool{}
	for i := range b.pop.patients {
		if s, ok := q.build(b.pop, &b.pop.patients[i]); ok && !seen[s] {
			seen[s] = true
			queries = append(queries, s)
		}
	}
	if len(queries) == 0 {
		b.add(skipped(name, "no patient in the population has a value for this query"))
		return nil
	}
	// Probe first, so that a query the server refuses is reported as
	// such instead of as thousands of failed requests.
	status, body, err := get(ctx, b.client, b.env.base+"/"+queries[0])
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		why := fmt.Sprintf("HTTP %d: %s", status, diagnostics(body))
		b.logf("%s: skipped: %s", name, why)
		b.add(skipped(name, why))
		return nil
	}
	if n := entries(body); n == 0 {
		b.logf("%s: warning: the first query found nothing: %s", name, queries[0])
	}
	clients := b.opts.Clients
	if q.one {
		clients = 1
	}
	r := drive(ctx, b.client, clients, d, http.StatusOK, func(r *rand.Rand) (*http.Request, error) {
		req, err := http.NewRequest(http.MethodGet, b.env.base+"/"+queries[r.IntN(len(queries))], nil)
		if err == nil {
			req.Header.Set("Accept", "application/fhir+json")
		}
		return req, err
	})
	if err := ctx.Err(); err != nil {
		return err
	}
	if r.n == 0 {
		b.add(skipped(name, "every request failed: "+r.firstErr))
		return nil
	}
	b.logf("%s (%d clients): %.0f requests/s, p50 %.2f ms, p99 %.2f ms: %s", name, clients, r.perSecond(), r.pct(0.5), r.pct(0.99), queries[0])
	b.add(against(name+".p50", r.pct(0.50), "ms", b.readP50),
		against(name+".p99", r.pct(0.99), "ms", b.readP99))
	b.add(b.errResults(name, r)...)
	return nil
}

// streamPage is the page size of the streaming measurement.
const streamPage = 100

func (b *bench) stream(ctx context.Context) error {
	d := max(b.opts.Duration/2, 500*time.Millisecond)
	srch, err := b.follow(ctx, b.env.base+"/Observation?_count="+strconv.Itoa(streamPage), d)
	if err != nil {
		b.logf("search.stream: skipped: %v", err)
		b.add(skipped("search.stream", err.Error()))
		return nil
	}
	hist, err := b.follow(ctx, b.env.base+"/Observation/_history?_count="+strconv.Itoa(streamPage), d)
	if err != nil {
		return fmt.Errorf("history baseline: %w", err)
	}
	b.logf("search.stream: %.0f resources/s (type history %.0f)", srch, hist)
	b.add(against("search.stream.resources_per_s", srch, "resources/s", hist))
	return nil
}

// follow reads pages from first on, following next links, for at most d,
// and returns entries per second.
func (b *bench) follow(ctx context.Context, first string, d time.Duration) (float64, error) {
	start := time.Now()
	n := 0
	next := first
	for next != "" && time.Since(start) < d {
		status, body, err := get(ctx, b.client, next)
		if err != nil {
			return 0, err
		}
		if status != http.StatusOK {
			return 0, fmt.Errorf("GET %s: HTTP %d: %s", next, status, diagnostics(body))
		}
		var page struct {
			Entry []json.RawMessage `json:"entry"`
			Link  []struct {
				Relation string `json:"relation"`
				URL      string `json:"url"`
			} `json:"link"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return 0, err
		}
		n += len(page.Entry)
		next = ""
		for _, l := range page.Link {
			if l.Relation == "next" {
				next = l.URL
			}
		}
	}
	el := time.Since(start)
	if n == 0 {
		return 0, fmt.Errorf("%s returned no entries", first)
	}
	return float64(n) / el.Seconds(), nil
}

// entries counts a Bundle's entries; -1 if body is not a Bundle.
func entries(body []byte) int {
	var b struct {
		Entry []json.RawMessage `json:"entry"`
	}
	if json.Unmarshal(body, &b) != nil {
		return -1
	}
	return len(b.Entry)
}

// diagnostics returns the first issue's diagnostics of an
// OperationOutcome, or the start of body.
func diagnostics(body []byte) string {
	var oo struct {
		Issue []struct {
			Diagnostics string `json:"diagnostics"`
		} `json:"issue"`
	}
	if json.Unmarshal(body, &oo) == nil && len(oo.Issue) > 0 && oo.Issue[0].Diagnostics != "" {
		return oo.Issue[0].Diagnostics
	}
	if len(body) == 0 {
		return "(no body)"
	}
	if len(body) > 200 {
		body = body[:200]
	}
	return string(body)
}
