package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nhs-junction/junction/internal/store"
)

// historyData is what the history tests wrote: every version in write
// order and the clock of each transaction.
type historyData struct {
	all   []store.Version
	times []time.Time
}

type write struct {
	typ, id string
	deleted bool
}

// writeTx writes one transaction of versions, each the next version of its
// resource according to d, and records them.
func (d *historyData) writeTx(t *testing.T, s store.Store, ws ...write) {
	t.Helper()
	ctx := context.Background()
	err := s.Write(ctx, func(tx store.Tx) error {
		d.times = append(d.times, tx.Now())
		for _, w := range ws {
			next := int64(1)
			for _, v := range d.all {
				if v.Type == w.typ && v.ID == w.id {
					next = v.Version + 1
				}
			}
			v := store.Version{Type: w.typ, ID: w.id, Version: next, Deleted: w.deleted}
			if !w.deleted {
				v.Body = body(w.typ, w.id, next)
			}
			got, err := tx.Put(ctx, v)
			if err != nil {
				return err
			}
			d.all = append(d.all, got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (d *historyData) build(t *testing.T, s store.Store) {
	d.writeTx(t, s, write{"Patient", "a", false}, write{"Patient", "b", false})
	d.writeTx(t, s, write{"Observation", "o1", false})
	d.writeTx(t, s, write{"Patient", "a", false})
	d.writeTx(t, s, write{"Observation", "o1", false}, write{"Patient", "b", true})
	d.writeTx(t, s, write{"Patient", "a", false})
	d.writeTx(t, s, write{"Observation", "o2", false})
	d.writeTx(t, s, write{"Patient", "b", false})
}

// want is the model of store.HistoryQuery: the versions q selects from
// d.all as of snapshot, newest first, written from the contract's words.
func (d *historyData) want(q store.HistoryQuery, snapshot int64) []store.Version {
	var out []store.Version
	for _, v := range d.all {
		if v.Seq > snapshot || (q.Type != "" && v.Type != q.Type) || (q.ID != "" && v.ID != q.ID) {
			continue
		}
		if !q.Since.IsZero() && v.LastUpdated.Before(q.Since) {
			continue
		}
		if !q.AtHigh.IsZero() {
			if !v.LastUpdated.Before(q.AtHigh) {
				continue
			}
			replaced := slices.ContainsFunc(d.all, func(n store.Version) bool {
				return n.Type == v.Type && n.ID == v.ID && n.Version == v.Version+1 &&
					n.Seq <= snapshot && !n.LastUpdated.After(q.AtLow)
			})
			if replaced {
				continue
			}
		}
		out = append(out, v)
	}
	slices.Reverse(out)
	return out
}

// pageAll reads every page of q and checks paging invariants on the way.
// between runs after each page, to write while a client is paging.
func pageAll(t *testing.T, s store.Store, q store.HistoryQuery, between func()) (versions []store.Version, snapshot int64, total int) {
	t.Helper()
	ctx := context.Background()
	total = -2
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("paging does not end")
		}
		page, err := s.History(ctx, q)
		if err != nil {
			t.Fatalf("History(%+v): %v", q, err)
		}
		if q.Snapshot != 0 && page.Snapshot != q.Snapshot {
			t.Errorf("page Snapshot %d, asked for %d", page.Snapshot, q.Snapshot)
		}
		if !q.WithTotal && page.Total != -1 {
			t.Errorf("Total %d without WithTotal, want -1", page.Total)
		}
		if q.WithTotal {
			if total != -2 && page.Total != total {
				t.Errorf("Total changed between pages: %d then %d", total, page.Total)
			}
			total = page.Total
		}
		if len(page.Versions) > q.Count {
			t.Errorf("page of %d versions, Count %d", len(page.Versions), q.Count)
		}
		if page.More && len(page.Versions) != q.Count {
			t.Errorf("More with a short page of %d (Count %d)", len(page.Versions), q.Count)
		}
		versions = append(versions, page.Versions...)
		if !page.More {
			return versions, page.Snapshot, total
		}
		if between != nil {
			between()
		}
		q.Snapshot = page.Snapshot
		q.Before = page.Versions[len(page.Versions)-1].Seq
	}
}

func sameVersions(t *testing.T, what string, got, want []store.Version) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d versions, want %d:\n got %s\nwant %s", what, len(got), len(want), keys(got), keys(want))
		return
	}
	for i := range got {
		equalVersion(t, fmt.Sprintf("%s [%d]", what, i), got[i], want[i])
	}
}

func keys(vs []store.Version) string {
	var b []byte
	for _, v := range vs {
		b = fmt.Appendf(b, "%s/%s/%d@%d ", v.Type, v.ID, v.Version, v.Seq)
	}
	return string(b)
}

func testHistory(t *testing.T, open Open) {
	s := open(t)
	var d historyData
	d.build(t, s)
	last := d.all[len(d.all)-1].Seq
	tm := d.times
	us := time.Microsecond

	levels := []store.HistoryQuery{
		{},
		{Type: "Patient"},
		{Type: "Observation"},
		{Type: "Encounter"},
		{Type: "Patient", ID: "a"},
		{Type: "Patient", ID: "b"},
		{Type: "Patient", ID: "missing"},
	}
	filters := []struct {
		name string
		set  func(*store.HistoryQuery)
	}{
		{"all", func(*store.HistoryQuery) {}},
		{"since first", func(q *store.HistoryQuery) { q.Since = tm[0] }},
		{"since middle", func(q *store.HistoryQuery) { q.Since = tm[3] }},
		{"since just after a tx", func(q *store.HistoryQuery) { q.Since = tm[3].Add(us) }},
		{"since last", func(q *store.HistoryQuery) { q.Since = tm[len(tm)-1] }},
		{"since future", func(q *store.HistoryQuery) { q.Since = time.Now().Add(time.Hour) }},
		{"at a point", func(q *store.HistoryQuery) { q.AtLow, q.AtHigh = tm[3], tm[3].Add(us) }},
		{"at just before a tx", func(q *store.HistoryQuery) { q.AtLow, q.AtHigh = tm[3].Add(-us), tm[3] }},
		{"at a range", func(q *store.HistoryQuery) { q.AtLow, q.AtHigh = tm[1], tm[4] }},
		{"at before anything", func(q *store.HistoryQuery) { q.AtLow, q.AtHigh = tm[0].Add(-time.Hour), tm[0] }},
		{"at now", func(q *store.HistoryQuery) {
			q.AtLow, q.AtHigh = time.Now().Add(time.Hour), time.Now().Add(2*time.Hour)
		}},
		{"at with zero low", func(q *store.HistoryQuery) { q.AtHigh = tm[2] }},
		{"since and at", func(q *store.HistoryQuery) { q.Since = tm[2]; q.AtLow, q.AtHigh = tm[4], tm[4].Add(us) }},
	}
	for _, level := range levels {
		for _, f := range filters {
			for _, count := range []int{1, 2, 3, 100} {
				q := level
				f.set(&q)
				q.Count = count
				q.WithTotal = count != 3
				name := fmt.Sprintf("%s/%s/%s/count=%d", level.Type, level.ID, f.name, count)
				t.Run(name, func(t *testing.T) {
					want := d.want(q, last)
					got, snapshot, total := pageAll(t, s, q, nil)
					if snapshot != last {
						t.Errorf("first page Snapshot %d, want the newest seq %d", snapshot, last)
					}
					sameVersions(t, "history", got, want)
					if q.WithTotal && total != len(want) {
						t.Errorf("Total %d, want %d", total, len(want))
					}
				})
			}
		}
	}
}

// testHistoryPagingStable writes new versions between pages: a client
// paging with Before and Snapshot must see the history as it was at its
// first page, neither skipping nor repeating a version.
func testHistoryPagingStable(t *testing.T, open Open) {
	s := open(t)
	var d historyData
	d.build(t, s)
	last := d.all[len(d.all)-1].Seq
	future := time.Now().Add(time.Hour)
	n := 0
	for _, q := range []store.HistoryQuery{
		{Count: 2, WithTotal: true},
		{Type: "Patient", Count: 1, WithTotal: true},
		{Type: "Patient", ID: "a", Count: 1, WithTotal: true},
		{Since: d.times[2], Count: 2, WithTotal: true},
		// Current as of the snapshot: a version replaced after the first
		// page must still count as current on later pages.
		{AtLow: future, AtHigh: future.Add(time.Hour), Count: 1, WithTotal: true},
	} {
		snapshot := d.all[len(d.all)-1].Seq
		want := d.want(q, snapshot)
		got, gotSnapshot, total := pageAll(t, s, q, func() {
			n++
			d.writeTx(t, s, write{"Patient", "a", false}, write{"Observation", fmt.Sprint("new", n), false})
		})
		if gotSnapshot != snapshot {
			t.Errorf("%+v: Snapshot %d, want %d", q, gotSnapshot, snapshot)
		}
		sameVersions(t, fmt.Sprintf("%+v", q), got, want)
		if total != len(want) {
			t.Errorf("%+v: Total %d, want %d", q, total, len(want))
		}
	}
	// A new first page sees what was written meanwhile.
	page, err := s.History(context.Background(), store.HistoryQuery{Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	newest := d.all[len(d.all)-1]
	if page.Snapshot != newest.Seq || page.Snapshot <= last || len(page.Versions) != 1 || page.Versions[0].Seq != newest.Seq {
		t.Errorf("fresh first page: Snapshot %d, versions %s; want the newest seq %d", page.Snapshot, keys(page.Versions), newest.Seq)
	}
}
