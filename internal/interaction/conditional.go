package interaction

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/search"
	"github.com/nhs-junction/junction/internal/searchparam"
	"github.com/nhs-junction/junction/internal/store"
)

// Conditional interactions (R4 http.html#ccreate, #cond-update,
// #3.1.0.7.1 conditional delete, conditional references in transactions)
// find their target by a search. The search and the write it decides run
// under s.condMu, and the lock is held until the write is durable, so two
// concurrent conditional creates with the same criteria create one
// resource, not two: the second one's search sees the first one's commit.
// s.condMu covers one server process; servers sharing a PostgreSQL
// database are covered by recheck, which repeats the search inside the
// write's transaction under the search engine's per-type lock.

// criteria parses the search criteria of a conditional interaction on
// typ: "identifier=x|y", or "Patient?identifier=x|y" (If-None-Exist and
// conditional references carry the type). Criteria are never lenient: an
// unknown parameter would widen the match, so it is a 400.
func (s *Service) criteria(typ, raw string, base string) (*searchparam.Query, error) {
	if t, rest, ok := strings.Cut(raw, "?"); ok {
		if t != typ && !strings.HasSuffix(t, "/"+typ) {
			return nil, fhir.Errorf(400, fhir.IssueInvalid, "The criteria %q are for %s, not %s", clip(raw), clip(t), typ)
		}
		raw = rest
	}
	vals, err := url.ParseQuery(raw)
	if err != nil || len(vals) == 0 {
		return nil, fhir.Errorf(400, fhir.IssueInvalid, "Conditional criteria %q are not a search query", clip(raw))
	}
	for name := range vals {
		if strings.HasPrefix(name, "_") && name != "_id" && name != "_lastUpdated" && name != "_tag" && name != "_profile" && name != "_security" && name != "_source" && name != "_has" && !strings.HasPrefix(name, "_has:") {
			return nil, fhir.Errorf(400, fhir.IssueInvalid, "Conditional criteria may not use %s", clip(name))
		}
	}
	if s.opts.Search.Engine == nil {
		return nil, fhir.Errorf(400, fhir.IssueNotSupported, "Conditional interactions need search, which is not enabled")
	}
	return searchparam.Parse(s.opts.Search.Registry, typ, searchparam.ParamsFromValues(vals), searchparam.Options{Now: s.opts.Now(), Base: base})
}

// limitedCriteria is the search of a conditional interaction, asking for
// limit+1 matches (enough to tell "more than limit") and no total.
func (s *Service) limitedCriteria(typ, raw, base string, limit int) (*searchparam.Query, error) {
	q, err := s.criteria(typ, raw, base)
	if err != nil {
		return nil, err
	}
	q.Count = limit + 1
	q.Total = searchparam.TotalNone
	return q, nil
}

// condCheck is a conditional write's search and what it found.
type condCheck struct {
	typ, raw, base string
	limit          int
	found          []string // ids, in result order
}

// matches returns up to limit+1 current resources of typ matching raw,
// and records the search on req (when not nil) for recheck.
func (s *Service) matches(ctx context.Context, req *Request, typ, raw, base string, limit int) ([]store.Version, error) {
	q, err := s.limitedCriteria(typ, raw, base, limit)
	if err != nil {
		return nil, err
	}
	res, err := s.opts.Search.Engine.Search(ctx, q, search.Options{})
	if err != nil {
		return nil, err
	}
	if req != nil {
		c := &condCheck{typ: typ, raw: raw, base: base, limit: limit}
		for _, m := range res.Matches {
			c.found = append(c.found, m.ID)
		}
		req.cond = c
	}
	return res.Matches, nil
}

// errCondChanged: between a conditional write's search and its
// transaction, another server changed what the criteria match.
var errCondChanged = fhir.Errorf(409, fhir.IssueConflict, "A concurrent write changed what the conditional criteria match; repeat the request")

// recheck repeats req's conditional search inside tx, where the search
// engine first takes a lock on the searched type that concurrent writers
// on other servers also take (store/postgres; SQLite has one writer), and
// fails with errCondChanged when the answer differs from the one the
// write was prepared from. Then the decision and the write are atomic
// across servers, not only within this one.
func (s *Service) recheck(ctx context.Context, tx store.Tx, req *Request) error {
	if req == nil {
		return nil
	}
	return s.recheckCond(ctx, tx, req.cond)
}

// recheckCond repeats one recorded conditional search inside tx; see
// recheck.
func (s *Service) recheckCond(ctx context.Context, tx store.Tx, c *condCheck) error {
	if c == nil {
		return nil
	}
	q, err := s.limitedCriteria(c.typ, c.raw, c.base, c.limit)
	if err != nil {
		return err
	}
	res, err := s.opts.Search.Engine.SearchTx(ctx, tx, q, search.Options{})
	if err != nil {
		return err
	}
	if len(res.Matches) != len(c.found) {
		return errCondChanged
	}
	for i, m := range res.Matches {
		if m.ID != c.found[i] {
			return errCondChanged
		}
	}
	return nil
}

// maxConditionalDelete bounds a conditional delete of several resources.
func (s *Service) maxConditionalDelete() int {
	if s.opts.MaxConditionalDelete > 0 {
		return s.opts.MaxConditionalDelete
	}
	return 100
}

// resolveConditional turns a conditional create, update, delete or patch
// into a plain one, by search. It must run under s.condMu. It returns the
// existing resource when a conditional create matched one (the create is
// then not performed), and the further ids a multiple delete removes.
func (s *Service) resolveConditional(ctx context.Context, req *Request) (existing *store.Version, more []string, err error) {
	switch req.Kind {
	case Create:
		if req.IfNoneExist == "" {
			return nil, nil, nil
		}
		ms, err := s.matches(ctx, req, req.Type, req.IfNoneExist, req.BaseURL, 1)
		if err != nil {
			return nil, nil, err
		}
		switch len(ms) {
		case 0:
			return nil, nil, nil
		case 1:
			return &ms[0], nil, nil
		}
		return nil, nil, fhir.Errorf(412, fhir.IssueDuplicate, "If-None-Exist %q matches more than one %s", clip(req.IfNoneExist), req.Type)
	case Update, Delete, Patch:
		if req.ID != "" {
			return nil, nil, nil
		}
		raw := req.Query.Encode()
		limit := 1
		if req.Kind == Delete {
			limit = s.maxConditionalDelete()
		}
		ms, err := s.matches(ctx, req, req.Type, raw, req.BaseURL, limit)
		if err != nil {
			return nil, nil, err
		}
		switch {
		case len(ms) == 0 && req.Kind == Update:
			// No match: the update creates, at the body's id if it has
			// one (update-as-create), else at a new id.
			var head struct{ ID string }
			_ = jsonUnmarshal(req.Body, &head)
			req.ID = head.ID
			if req.ID == "" {
				req.ID = NewID()
				req.assignID = true
			}
		case len(ms) == 0 && req.Kind == Delete:
			req.ID = ""
			req.noMatch = true
		case len(ms) == 0:
			return nil, nil, fhir.Errorf(404, fhir.IssueNotFound, "No %s matches %q", req.Type, clip(raw))
		case len(ms) == 1:
			req.ID = ms[0].ID
			if req.Kind == Update {
				var head struct{ ID string }
				_ = jsonUnmarshal(req.Body, &head)
				if head.ID != "" && head.ID != req.ID {
					return nil, nil, fhir.Errorf(400, fhir.IssueInvalid, "The body's id %q is not the id of the matching resource %s/%s", clip(head.ID), req.Type, req.ID)
				}
				req.assignID = head.ID == ""
			}
		case req.Kind == Delete && len(ms) <= limit:
			req.ID = ms[0].ID
			for _, m := range ms[1:] {
				more = append(more, m.ID)
			}
		case req.Kind == Delete:
			return nil, nil, fhir.Errorf(412, fhir.IssueTooCostly, "The conditional delete matches more than %d resources", limit)
		default:
			return nil, nil, fhir.Errorf(412, fhir.IssueDuplicate, "The criteria %q match more than one %s", clip(raw), req.Type)
		}
	}
	return nil, more, nil
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
