package interaction

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/search"
	"github.com/nhs-junction/junction/internal/searchparam"
	"github.com/nhs-junction/junction/internal/store"
)

// Searcher runs one page of a parsed search; *search.Engine is one.
// Both methods are required: a conditional write repeats its search inside
// its own transaction (SearchTx), which is what makes it atomic across
// servers sharing one database, so a wrapper that drops SearchTx would
// silently lose that guarantee.
type Searcher interface {
	Search(ctx context.Context, q *searchparam.Query, opt search.Options) (*search.Result, error)
	// SearchTx runs the search inside the write transaction tx, after
	// taking the lock conditional writers on the searched type share.
	SearchTx(ctx context.Context, tx store.Tx, q *searchparam.Query, opt search.Options) (*search.Result, error)
}

// SearchOptions plug search into a Service.
type SearchOptions struct {
	Engine   Searcher
	Registry searchparam.Registry
	// IsSummary reports whether an element is marked isSummary, for
	// _summary=true; nil makes _summary=true a 400 rather than a guess.
	IsSummary func(typ, element string) bool
}

// parseSearch parses a search request's parameters (R4 search.html).
// Formatting parameters are the HTTP layer's and are left out.
func (s *Service) parseSearch(req *Request, typ string) (*searchparam.Query, error) {
	if s.opts.Search.Engine == nil {
		return nil, fhir.Errorf(405, fhir.IssueNotSupported, "Search is not enabled on this server")
	}
	var params []searchparam.Param
	for _, p := range searchparam.ParamsFromValues(req.Query) {
		if formatParams[p.Name] {
			continue
		}
		params = append(params, p)
	}
	params, err := s.expandTokenModifiers(typ, params)
	if err != nil {
		return nil, err
	}
	return searchparam.Parse(s.opts.Search.Registry, typ, params, searchparam.Options{
		Lenient: req.Lenient, Now: s.opts.Now(), Base: req.BaseURL,
	})
}

func (s *Service) search(ctx context.Context, req *Request) (*Response, error) {
	var opt search.Options
	typ, path := req.Type, "/"+req.Type
	switch req.Kind {
	case SearchSystem:
		typ, path = "", ""
	case SearchCompartment:
		if !s.opts.IsResourceType(req.Compartment) {
			return nil, fhir.Errorf(404, fhir.IssueNotSupported, "Unknown resource type %q", clip(req.Compartment))
		}
		c, err := search.CompartmentFor(req.Type, req.ID, req.Compartment)
		if err != nil {
			return nil, err
		}
		opt.Compartment = c
		typ, path = req.Compartment, "/"+req.Type+"/"+req.ID+"/"+req.Compartment
	}
	q, err := s.parseSearch(req, typ)
	if err != nil {
		return nil, err
	}
	patient := searchedPatient(req)
	passes, err := s.forPatient(ctx, req, patient)
	if err != nil {
		return nil, err
	}
	var restricted search.Restriction
	if s.opts.RestrictSearch != nil && redacts(req) {
		restricted = s.opts.RestrictSearch(q)
	}
	opt.Where = s.searchWhere(req, restricted)
	res, err := s.opts.Search.Engine.Search(ctx, q, opt)
	if err != nil {
		return nil, err
	}
	if q.Summary != searchparam.SummaryCount {
		noteSeen(req, res.Matches, res.Included)
	}
	self := url.Values{}
	for _, p := range q.Applied {
		self.Add(p.Name, p.Value)
	}
	links := []link{{"self", pageURL(req.BaseURL, path, self)}}
	page := func(rel string, c *search.Cursor) {
		if c == nil {
			return
		}
		v := cloneValues(self)
		v.Set("_cursor", c.Encode())
		links = append(links, link{rel, pageURL(req.BaseURL, path, v)})
	}
	page("next", res.Next)
	page("previous", res.Prev)

	var b bundleWriter
	b.start(NewID(), "searchset", fhir.FormatInstant(s.opts.Now()), res.Total, links)
	add := func(mode string, body []byte, typ, id string) error {
		body, err := s.present(req, body)
		if err != nil {
			return err
		}
		shaped, err := search.Shape(body, q, s.opts.Search.IsSummary)
		if err != nil {
			return err
		}
		b.add(entry{FullURL: req.BaseURL + "/" + typ + "/" + id, Resource: shaped, Search: map[string]string{"mode": mode}})
		return nil
	}
	if q.Summary != searchparam.SummaryCount {
		for _, v := range res.Matches {
			if err := add("match", v.Body, v.Type, v.ID); err != nil {
				return nil, err
			}
		}
		for _, v := range res.Included {
			if err := add("include", v.Body, v.Type, v.ID); err != nil {
				return nil, err
			}
		}
	}
	var issues []fhir.Issue
	if len(q.Ignored) > 0 {
		issues = append(issues, fhir.Issue{Severity: fhir.SeverityWarning, Code: fhir.IssueNotSupported,
			Diagnostics: fmt.Sprintf("Ignored (Prefer: handling=lenient): %s", strings.Join(q.Ignored, ", "))})
	}
	if q.CountAsked > 0 && req.Lenient {
		issues = append(issues, countCapped(q.CountAsked, q.Count))
	}
	if patient != "" && res.Prev == nil {
		// Said on the first page, where a client reads it.
		hid, err := s.withheld(ctx, req, patient, q.Types, passes)
		if err != nil {
			return nil, err
		}
		if hid {
			issues = append(issues, withheldNote(patient))
		}
	}
	if len(issues) > 0 {
		b.add(entry{Resource: fhir.Outcome(issues), Search: map[string]string{"mode": "outcome"}})
	}
	return &Response{Status: http.StatusOK, Body: b.finish()}, nil
}

// countCapped is the warning that _count was lowered to the most a page
// holds (search.html 3.1.1.6: the server "is not bound to return the
// number requested"); the page links carry the count used.
func countCapped(asked, used int) fhir.Issue {
	return fhir.Issue{Severity: fhir.SeverityWarning, Code: fhir.IssueTooCostly,
		Diagnostics: fmt.Sprintf("_count=%d is more than a page holds; pages hold %d (Prefer: handling=lenient)", asked, used)}
}
