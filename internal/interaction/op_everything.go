package interaction

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/search"
	"github.com/nhs-junction/junction/internal/searchparam"
	"github.com/nhs-junction/junction/internal/store"
)

// everythingReferenced are the types $everything adds when the patient's
// resources refer to them (R4 patient-operation-everything: "any
// resource referenced by these, such as Practitioner, Organization,
// Location, Medication").
var everythingReferenced = []string{"Practitioner", "Organization", "Location", "Medication"}

// RegisterEverything adds Patient/$everything at instance level (one
// patient's compartment, from the R4 Patient CompartmentDefinition, plus
// the practitioners, organisations, locations and medications it refers
// to) and at type level (every patient's), with _since, _type, _count
// and paging pinned to the first page's moment.
func (s *Service) RegisterEverything() {
	s.Register(OperationDef{Name: "everything", Scope: ScopeType | ScopeInstance, Types: []string{"Patient"}, Safe: true,
		Definition: "http://hl7.org/fhir/OperationDefinition/Patient-everything",
		Do:         s.everything,
	})
}

func (s *Service) everything(ctx context.Context, req *Request) (*Response, error) {
	if s.opts.Search.Engine == nil {
		return nil, fhir.Errorf(405, fhir.IssueNotSupported, "$everything needs search, which is not enabled")
	}
	if req.ID != "" {
		v, err := s.readVisible(ctx, req, "Patient", req.ID, 0)
		if errors.Is(err, store.ErrNotFound) {
			return nil, notFound("Patient", req.ID)
		} else if err != nil {
			return nil, err
		}
		if v.Deleted {
			return nil, gone(v)
		}
	}
	comp, types := search.CompartmentOf("Patient", req.ID)
	params := []searchparam.Param{}
	// The audit trail of the record is not part of the record: it is
	// returned only when _type names AuditEvent (README, Tamper-evident
	// audit log: the patient's $access-log summarises it).
	wantTypes := slices.DeleteFunc(append(slices.Clone(types), everythingReferenced...), func(t string) bool { return t == "AuditEvent" })
	for name, vals := range req.Query {
		if formatParams[name] {
			continue
		}
		for _, val := range vals {
			switch name {
			case "_since":
				if _, _, err := ParseDateRange(val); err != nil {
					return nil, fhir.Errorf(400, fhir.IssueValue, "_since: %v", err)
				}
				params = append(params, searchparam.Param{Name: "_lastUpdated", Value: "ge" + val})
			case "_type":
				wantTypes = nil
				for _, t := range strings.Split(val, ",") {
					if !s.opts.IsResourceType(t) {
						return nil, fhir.Errorf(400, fhir.IssueValue, "_type: %q is not a resource type", clip(t))
					}
					wantTypes = append(wantTypes, t)
				}
			case "_count", "_cursor":
				params = append(params, searchparam.Param{Name: name, Value: val})
			case "start", "end":
				return nil, fhir.Errorf(400, fhir.IssueNotSupported, "$everything %s is not supported; use _since", name)
			default:
				if !req.Lenient {
					return nil, fhir.Errorf(400, fhir.IssueNotSupported, "Unknown $everything parameter %q (supported: _since, _type, _count)", clip(name))
				}
			}
		}
	}
	// Matches are the compartment's types the caller asked for; the
	// referenced types come as includes when asked for (all by default).
	var matchTypes, includeTypes []string
	for _, t := range wantTypes {
		if slices.Contains(types, t) {
			matchTypes = append(matchTypes, t)
		}
		if slices.Contains(everythingReferenced, t) {
			includeTypes = append(includeTypes, t)
		}
	}
	if len(matchTypes) == 0 {
		return nil, fhir.Errorf(400, fhir.IssueValue, "_type names no resource type of the Patient compartment")
	}
	params = append(params, searchparam.Param{Name: "_type", Value: strings.Join(matchTypes, ",")})
	q, err := searchparam.Parse(s.opts.Search.Registry, "", params, searchparam.Options{Now: s.opts.Now(), Base: req.BaseURL})
	if err != nil {
		return nil, err
	}
	if q.Total == "" {
		q.Total = searchparam.TotalAccurate
	}
	for _, t := range includeTypes {
		q.Include = append(q.Include, searchparam.Include{Source: "*", Target: t})
	}
	passes, err := s.forPatient(ctx, req, req.ID)
	if err != nil {
		return nil, err
	}
	res, err := s.opts.Search.Engine.Search(ctx, q, search.Options{Compartment: comp, Where: s.searchWhere(req, nil)})
	if err != nil {
		return nil, err
	}
	noteSeen(req, res.Matches, res.Included)
	path := "/Patient/$everything"
	if req.ID != "" {
		path = "/Patient/" + req.ID + "/$everything"
	}
	self := url.Values{}
	for name, vals := range req.Query {
		if name != "_cursor" && !formatParams[name] {
			self[name] = vals
		}
	}
	links := []link{{"self", pageURL(req.BaseURL, path, self)}}
	for _, p := range []struct {
		rel string
		c   *search.Cursor
	}{{"next", res.Next}, {"previous", res.Prev}} {
		if p.c != nil {
			v := cloneValues(self)
			v.Set("_cursor", p.c.Encode())
			links = append(links, link{p.rel, pageURL(req.BaseURL, path, v)})
		}
	}
	var b bundleWriter
	b.start(NewID(), "searchset", fhir.FormatInstant(s.opts.Now()), res.Total, links)
	for _, set := range []struct {
		mode string
		vs   []store.Version
	}{{"match", res.Matches}, {"include", res.Included}} {
		for _, v := range set.vs {
			body, err := s.present(req, v.Body)
			if err != nil {
				return nil, err
			}
			b.add(entry{FullURL: req.BaseURL + "/" + v.Type + "/" + v.ID, Resource: body, Search: map[string]string{"mode": set.mode}})
		}
	}
	if req.ID != "" && res.Prev == nil {
		hid, err := s.withheld(ctx, req, req.ID, nil, passes)
		if err != nil {
			return nil, err
		}
		if hid {
			b.add(entry{Resource: fhir.Outcome([]fhir.Issue{withheldNote(req.ID)}), Search: map[string]string{"mode": "outcome"}})
		}
	}
	return &Response{Status: http.StatusOK, Body: b.finish()}, nil
}
