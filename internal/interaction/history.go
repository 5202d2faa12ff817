package interaction

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/store"
)

// Paging parameters of history bundles. They pin later pages to the
// moment of the first page, so pages neither skip nor repeat versions
// while writes go on.
const (
	pageBeforeParam = "_page_before"
	snapshotParam   = "_snapshot"
	// openParam carries the write transactions open at the first page
	// (store.HistoryPage.Open) in a paging link.
	openParam = "_open"
)

// formatParams are handled by the HTTP layer and ignored here.
var formatParams = map[string]bool{"_format": true, "_pretty": true}

func (s *Service) history(ctx context.Context, req *Request) (*Response, error) {
	q := store.HistoryQuery{Type: req.Type, ID: req.ID, Count: s.opts.DefaultCount}
	asked := 0 // the _count sent, when it was capped
	if req.Kind == HistorySystem {
		q.Type = ""
	}
	for name, values := range req.Query {
		if formatParams[name] {
			continue
		}
		if len(values) != 1 {
			return nil, fhir.Errorf(400, fhir.IssueInvalid, "History parameter %s may appear only once", name)
		}
		val := values[0]
		switch name {
		case "_count":
			n, err := strconv.Atoi(val)
			if err != nil || n < 0 {
				return nil, fhir.Errorf(400, fhir.IssueValue, "_count must be a non-negative integer, not %q", clip(val))
			}
			q.Count = min(n, s.opts.MaxCount)
			if n > q.Count {
				asked = n
			}
		case "_since":
			lo, _, err := ParseDateRange(val)
			if err != nil {
				return nil, fhir.Errorf(400, fhir.IssueValue, "_since: %s", err)
			}
			q.Since = lo
		case "_at":
			lo, hi, err := ParseDateRange(val)
			if err != nil {
				return nil, fhir.Errorf(400, fhir.IssueValue, "_at: %s", err)
			}
			q.AtLow, q.AtHigh = lo, hi
		case pageBeforeParam, snapshotParam:
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil || n < 1 {
				return nil, fhir.Errorf(400, fhir.IssueValue, "%s must be a positive integer from a paging link", name)
			}
			if name == pageBeforeParam {
				q.Before = n
			} else {
				q.Snapshot = n
			}
		case openParam:
			open, err := parseOpen(val)
			if err != nil {
				return nil, err
			}
			q.Open = open
		case "_total":
			if val != "none" && val != "estimate" && val != "accurate" {
				return nil, fhir.Errorf(400, fhir.IssueValue, "_total must be none, estimate or accurate")
			}
			q.WithTotal = val != "none"
		default:
			if req.Lenient {
				continue
			}
			return nil, fhir.Errorf(400, fhir.IssueNotSupported, "Unknown history parameter %q (supported: _count, _since, _at, _total)", clip(name))
		}
	}
	if req.Kind == HistoryInstance {
		q.WithTotal = true
		if _, err := s.readVisible(ctx, req, req.Type, req.ID, 0); err == store.ErrNotFound {
			return nil, notFound(req.Type, req.ID)
		} else if err != nil {
			return nil, err
		}
	}
	q.Where = s.where(req, req.Type)
	count := q.Count
	if q.Count == 0 {
		q.Count, q.WithTotal = 1, true
	}
	page, err := s.store.History(ctx, q)
	if err != nil {
		return nil, err
	}
	if count == 0 {
		page.Versions, page.More = nil, false
	}
	noteSeen(req, page.Versions)

	path := ""
	switch req.Kind {
	case HistoryInstance:
		path = "/" + req.Type + "/" + req.ID + "/_history"
	case HistoryType:
		path = "/" + req.Type + "/_history"
	default:
		path = "/_history"
	}
	self := cloneValues(req.Query)
	if asked > 0 {
		// The links state the count used, not the one asked for. (A
		// history bundle has no place for an outcome: every entry is a
		// version with its request, R4 bdl-3.)
		self.Set("_count", strconv.Itoa(count))
	}
	links := []link{{"self", pageURL(req.BaseURL, path, self)}}
	if page.More && len(page.Versions) > 0 {
		next := cloneValues(self)
		next.Set(pageBeforeParam, strconv.FormatInt(page.Versions[len(page.Versions)-1].Seq, 10))
		next.Set(snapshotParam, strconv.FormatInt(page.Snapshot, 10))
		if len(page.Open) > 0 {
			next.Set(openParam, formatOpen(page.Open))
		}
		links = append(links, link{"next", pageURL(req.BaseURL, path, next)})
	}
	total := -1
	if q.WithTotal {
		total = page.Total
	}
	var b bundleWriter
	b.start(NewID(), "history", fhir.FormatInstant(s.opts.Now()), total, links)
	posted, err := s.posted(ctx, page.Versions)
	if err != nil {
		return nil, err
	}
	for _, v := range page.Versions {
		e := historyEntry(req.BaseURL, v, posted[v.Seq])
		if e.Resource, err = s.present(req, e.Resource); err != nil {
			return nil, err
		}
		b.add(e)
	}
	return &Response{Status: 200, Body: b.finish()}, nil
}

type bundleRequest struct {
	Method string `json:"method"`
	URL    string `json:"url"`
}

type bundleResponse struct {
	Status       string `json:"status"`
	Location     string `json:"location,omitempty"`
	Etag         string `json:"etag,omitempty"`
	LastModified string `json:"lastModified,omitempty"`
}

// poster is the store capability that says which versions a create with a
// server-assigned id wrote (*search.Engine is one).
type poster interface {
	Posted(ctx context.Context, seqs []int64) (map[int64]bool, error)
}

// posted returns which of the first versions in vs were written by POST.
// Without a store that records it, every version 1 is reported as PUT.
func (s *Service) posted(ctx context.Context, vs []store.Version) (map[int64]bool, error) {
	p, ok := s.store.(poster)
	if !ok {
		return nil, nil
	}
	var seqs []int64
	for _, v := range vs {
		if v.Version == 1 && !v.Deleted {
			seqs = append(seqs, v.Seq)
		}
	}
	return p.Posted(ctx, seqs)
}

// historyEntry is the entry of version v in a history bundle, with the
// interaction that wrote it (R4 http.html#history): DELETE for a
// tombstone, POST [type] for a version 1 the server created with an id of
// its own (posted), and PUT [type]/[id] for the rest, including the
// version 1 of a resource created by PUT.
func historyEntry(base string, v store.Version, posted bool) entry {
	e := entry{FullURL: base + "/" + v.Type + "/" + v.ID, Resource: v.Body}
	resp := bundleResponse{Etag: ETag(v.Version), LastModified: fhir.FormatInstant(v.LastUpdated)}
	switch {
	case v.Deleted:
		e.Request = bundleRequest{"DELETE", v.Type + "/" + v.ID}
		resp.Status = "204 No Content"
	case v.Version == 1 && posted:
		e.Request = bundleRequest{"POST", v.Type}
		resp.Status = "201 Created"
		resp.Location = v.Type + "/" + v.ID + "/_history/1"
	case v.Version == 1:
		e.Request = bundleRequest{"PUT", v.Type + "/" + v.ID}
		resp.Status = "201 Created"
		resp.Location = v.Type + "/" + v.ID + "/_history/1"
	default:
		e.Request = bundleRequest{"PUT", v.Type + "/" + v.ID}
		resp.Status = "200 OK"
	}
	e.Response = resp
	return e
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// ParseDateRange reads a FHIR date, dateTime or instant and returns the
// half-open range [low, high) it denotes at its precision: "2024" is the
// whole year, "2024-03-01T10:00:00Z" one second. Values without a time
// zone are taken as UTC.
func ParseDateRange(s string) (time.Time, time.Time, error) {
	layouts := []struct {
		layout string
		step   func(time.Time) time.Time
	}{
		{"2006", func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }},
		{"2006-01", func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }},
		{"2006-01-02", func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }},
		{"2006-01-02T15:04Z07:00", func(t time.Time) time.Time { return t.Add(time.Minute) }},
		{"2006-01-02T15:04:05Z07:00", func(t time.Time) time.Time { return t.Add(time.Second) }},
		{"2006-01-02T15:04", func(t time.Time) time.Time { return t.Add(time.Minute) }},
		{"2006-01-02T15:04:05", func(t time.Time) time.Time { return t.Add(time.Second) }},
	}
	for _, l := range layouts {
		if t, err := time.Parse(l.layout, s); err == nil && len(s) == len(t.Format(l.layout)) {
			return t.UTC(), l.step(t).UTC(), nil
		}
	}
	// Fractional seconds: precision is the digits given.
	for _, layout := range []string{"2006-01-02T15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			digits := 0
			for i := len("2006-01-02T15:04:05."); i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
				digits++
			}
			step := time.Second
			for i := 0; i < digits && step > time.Nanosecond; i++ {
				step /= 10
			}
			return t.UTC(), t.Add(step).UTC(), nil
		}
	}
	return time.Time{}, time.Time{}, &dateError{s}
}

type dateError struct{ s string }

func (e *dateError) Error() string {
	return "\"" + clip(e.s) + "\" is not a FHIR date, dateTime or instant (YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss[.fff]+zz:zz)"
}

// parseOpen reads the _open parameter of a history paging link: a
// comma-separated list of transaction ids below 2^32.
func parseOpen(val string) ([]int64, error) {
	parts := strings.Split(val, ",")
	if len(parts) > store.MaxOpen {
		return nil, fhir.Errorf(400, fhir.IssueValue, "%s is not from a paging link this server issued", openParam)
	}
	out := make([]int64, len(parts))
	for i, p := range parts {
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil || n < 0 || n >= 1<<32 {
			return nil, fhir.Errorf(400, fhir.IssueValue, "%s is not from a paging link this server issued", openParam)
		}
		out[i] = n
	}
	return out, nil
}

func formatOpen(open []int64) string {
	parts := make([]string, len(open))
	for i, x := range open {
		parts[i] = strconv.FormatInt(x, 10)
	}
	return strings.Join(parts, ",")
}
