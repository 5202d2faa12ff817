package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"
)

// ingest loads the population through POST /fhir, one transaction bundle
// per patient from concurrent clients, after the shared resources alone
// (every record refers to them). The baseline inserts the same JSON bytes
// with the same grouping (one commit per patient) and concurrency into
// one plain table.
func (b *bench) ingest(ctx context.Context) error {
	report := b.want["ingest"]
	if report || b.want["transaction"] {
		rate, disk, err := b.rawIngest(ctx)
		if err != nil {
			return fmt.Errorf("baseline: %w", err)
		}
		b.rawRate = rate
		b.logf("ingest baseline: %.0f resources/s into one plain table", rate)
		b.rawDisk = disk
	}

	watch := watchRSS()
	elapsed, err := b.apiIngest(ctx)
	peak := watch.end()
	if err != nil {
		return err
	}
	rate := float64(b.pop.resources) / elapsed.Seconds()
	b.logf("ingest: %d resources in %s, %.0f resources/s", b.pop.resources, elapsed.Round(time.Millisecond), rate)
	if !report {
		return nil
	}
	b.add(against("ingest.resources_per_s", rate, "resources/s", b.rawRate))
	b.add(b.rssResult("ingest", peak)...)
	disk, err := b.env.diskBytes(ctx)
	if err != nil {
		return fmt.Errorf("disk size: %w", err)
	}
	json := float64(b.pop.jsonBytes)
	b.add(against("ingest.disk_per_json_byte", float64(disk)/json, "bytes/byte", float64(b.rawDisk)/json))
	return nil
}

// apiIngest posts every group's bundle and returns the time it took.
func (b *bench) apiIngest(ctx context.Context) (time.Duration, error) {
	var posted atomic.Int64
	// A large record's Bundle can wait behind every other client's on a
	// busy machine (SQLite has one writer): the load is bounded by the
	// run's context, not by the per-request timeout of the other
	// scenarios.
	client := *b.client
	client.Timeout = 0
	var postOne func(ctx context.Context, group int, body []byte) error
	post := func(ctx context.Context, group int) error {
		body, err := os.ReadFile(b.pop.bundlePath(group))
		if err != nil {
			return err
		}
		parts, err := splitBundle(body, maxTxEntries)
		if err != nil {
			return fmt.Errorf("bundle of group %d: %w", group, err)
		}
		for _, part := range parts {
			if err := postOne(ctx, group, part); err != nil {
				return err
			}
		}
		return nil
	}
	postOne = func(ctx context.Context, group int, body []byte) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.env.base, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/fhir+json")
		// A loader needs to know that each entry was stored, not to
		// receive every resource back.
		req.Header.Set("Prefer", "return=minimal")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			msg, _ := io.ReadAll(io.LimitReader(resp.Body, 2000))
			return fmt.Errorf("POST bundle of group %d: HTTP %d: %s", group, resp.StatusCode, msg)
		}
		_, err = io.Copy(io.Discard, resp.Body)
		posted.Add(1)
		return err
	}
	start := time.Now()
	if err := post(ctx, 0); err != nil {
		return 0, err
	}
	err := parallel(ctx, b.pop.groups-1, b.opts.Clients, func(ctx context.Context, i int) error {
		return post(ctx, i+1)
	})
	return time.Since(start), err
}

// rawIngest runs the baseline into a fresh plain table and returns its
// rate and its footprint on disk.
func (b *bench) rawIngest(ctx context.Context) (float64, int64, error) {
	var raw rawTable
	if b.env.schema != "" {
		u, schema, drop, err := freshSchema(ctx, b.opts.Database, "junction_bench_raw_")
		if err != nil {
			return 0, 0, err
		}
		defer drop()
		p, err := openPGRaw(ctx, u, schema)
		if err != nil {
			return 0, 0, err
		}
		raw = p
	} else {
		s, err := openSQLiteRaw(ctx, filepath.Join(filepath.Dir(b.env.cfg.Data), "raw"))
		if err != nil {
			return 0, 0, err
		}
		raw = s
	}
	defer raw.close()
	load := func(ctx context.Context, group int) error {
		recs, err := b.pop.readRaw(group)
		if err != nil {
			return err
		}
		return raw.insert(ctx, recs)
	}
	start := time.Now()
	if err := load(ctx, 0); err != nil {
		return 0, 0, err
	}
	err := parallel(ctx, b.pop.groups-1, b.opts.Clients, func(ctx context.Context, i int) error {
		return load(ctx, i+1)
	})
	elapsed := time.Since(start)
	if err != nil {
		return 0, 0, err
	}
	disk, err := raw.diskBytes(ctx)
	if err != nil {
		return 0, 0, err
	}
	return float64(b.pop.resources) / elapsed.Seconds(), disk, nil
}

// maxTxEntries is the most entries one transaction of the load carries:
// the synthetic records of the oldest patients run to thousands of
// resources (7,828 in the 250-patient population), and one SQLite
// transaction of that size slows down with its own length; a loader
// sends such a record as several transactions, as a migration would.
// The references between entries are Type/id, so the parts stand alone.
const maxTxEntries = 1000

// splitBundle returns a transaction Bundle as Bundles of at most max
// entries each, in order (the Bundle itself when it is small enough).
func splitBundle(body []byte, max int) ([][]byte, error) {
	var b struct {
		Entry []json.RawMessage `json:"entry"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, err
	}
	if len(b.Entry) <= max {
		return [][]byte{body}, nil
	}
	var out [][]byte
	for i := 0; i < len(b.Entry); i += max {
		var buf bytes.Buffer
		buf.WriteString(`{"resourceType":"Bundle","type":"transaction","entry":[`)
		for k, e := range b.Entry[i:min(i+max, len(b.Entry))] {
			if k > 0 {
				buf.WriteByte(',')
			}
			buf.Write(e)
		}
		buf.WriteString("]}")
		out = append(out, buf.Bytes())
	}
	return out, nil
}
