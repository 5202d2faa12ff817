package interaction

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/identity/match"
	"github.com/nhs-junction/junction/internal/identity/nhsnumber"
	"github.com/nhs-junction/junction/internal/search"
	"github.com/nhs-junction/junction/internal/searchparam"
	"github.com/nhs-junction/junction/internal/store"
)

// MatchGradeURL is the extension on Bundle.entry.search that carries the
// match grade (R4 patient-operation-match; code system
// http://hl7.org/fhir/match-grade).
const MatchGradeURL = "http://hl7.org/fhir/StructureDefinition/match-grade"

// Bounds of $match. A block (one candidate search) that finds more than
// matchBlockLimit patients is cut there: such a block is too broad to
// be evidence (a common surname prefix), and the other blocks still run.
const (
	matchDefaultCount = 10
	matchMaxCount     = 100
	matchBlockLimit   = 200
)

// RegisterIdentity adds the patient identity operations: Patient/$match
// (R4 patient-operation-match, as IHE PDQm ITI-119 uses it),
// Patient/$ihe-pix (IHE PIXm ITI-83) and Patient/$merge (the R5
// patient-operation-merge, which R4 lacks).
func (s *Service) RegisterIdentity() {
	s.Register(OperationDef{Name: "match", Scope: ScopeType, Types: []string{"Patient"},
		Definition: "http://hl7.org/fhir/OperationDefinition/Patient-match",
		Do:         s.patientMatch,
	})
	s.Register(OperationDef{Name: "ihe-pix", Scope: ScopeType, Types: []string{"Patient"}, Safe: true,
		Definition: "https://profiles.ihe.net/ITI/PIXm/OperationDefinition/IHE.PIXm.pix",
		Do:         s.patientPIX,
	})
	s.Register(OperationDef{Name: "merge", Scope: ScopeType, Types: []string{"Patient"},
		Definition: "http://hl7.org/fhir/OperationDefinition/Patient-merge",
		Do:         s.patientMerge,
	})
}

// patientMatch is Patient/$match. Its parameters are resource (the
// Patient to match, required: 400 without it), onlyCertainMatches and
// count. The result is a searchset Bundle of the candidates graded
// possible or better, best first, each with search.score and the
// match-grade extension. With onlyCertainMatches=true only certain
// matches are returned, and none when there are several: R4 says the
// server "should not return the results" when more than one record might
// match, since the flag asks for a match safe to act on automatically.
func (s *Service) patientMatch(ctx context.Context, req *Request) (*Response, error) {
	if s.opts.Search.Engine == nil {
		return nil, fhir.Errorf(405, fhir.IssueNotSupported, "$match needs search, which is not enabled")
	}
	p, isParams, err := ReadParams(req)
	if err != nil {
		return nil, err
	}
	var raw []byte
	switch {
	case len(p["resource"]) == 1:
		raw = p["resource"][0]
	case len(p["resource"]) > 1:
		return nil, fhir.Errorf(400, fhir.IssueInvalid, "$match takes one resource parameter").At("Parameters.parameter")
	case !isParams && len(req.Body) > 0:
		raw = req.Body
	default:
		return nil, fhir.Errorf(400, fhir.IssueRequired, "$match needs a Patient in the resource parameter").At("Parameters.parameter")
	}
	query, err := match.Parse(raw)
	if err != nil {
		return nil, fhir.Errorf(400, fhir.IssueInvalid, "The resource parameter of $match must be a Patient").At("Parameters.parameter.resource")
	}
	onlyCertain := false
	if v, ok := p.String("onlyCertainMatches"); ok {
		if onlyCertain, err = strconv.ParseBool(v); err != nil {
			return nil, fhir.Errorf(400, fhir.IssueValue, "onlyCertainMatches must be true or false")
		}
	}
	count := matchDefaultCount
	if v, ok := p.String("count"); ok {
		if count, err = strconv.Atoi(v); err != nil || count < 1 {
			return nil, fhir.Errorf(400, fhir.IssueValue, "count must be a positive integer")
		}
		count = min(count, matchMaxCount)
	}
	found, err := s.MatchCandidates(ctx, req, query, req.BaseURL)
	if err != nil {
		return nil, err
	}
	var results []scored
	for _, v := range found {
		c, err := match.Parse(v.Body)
		if err != nil {
			continue
		}
		r := match.Compare(query, c)
		if r.Grade == match.NoMatch || r.Grade == match.CertainlyNot {
			continue // R4 match-grade: non-matching records are usually not returned
		}
		results = append(results, scored{v, r})
	}
	sort.SliceStable(results, func(i, j int) bool {
		if results[i].r.Score != results[j].r.Score {
			return results[i].r.Score > results[j].r.Score
		}
		return results[i].v.ID < results[j].v.ID
	})
	var warning string
	if onlyCertain {
		var certain []scored
		for _, x := range results {
			if x.r.Grade == match.Certain {
				certain = append(certain, x)
			}
		}
		results = certain
		if len(certain) > 1 {
			warning = fmt.Sprintf("%d patients match with certainty; onlyCertainMatches returns none so that no record is picked automatically", len(certain))
			results = nil
		}
	}
	if len(results) > count {
		results = results[:count]
	}
	var b bundleWriter
	b.start(NewID(), "searchset", fhir.FormatInstant(s.opts.Now()), len(results), nil)
	for _, x := range results {
		body, err := s.present(req, x.v.Body)
		if err != nil {
			return nil, err
		}
		b.add(entry{FullURL: req.BaseURL + "/Patient/" + x.v.ID, Resource: body, Search: map[string]any{
			"extension": []any{map[string]any{"url": MatchGradeURL, "valueCode": string(x.r.Grade)}},
			"mode":      "match",
			"score":     json.Number(strconv.FormatFloat(x.r.Score, 'f', 4, 64)),
		}})
	}
	if warning != "" {
		b.add(entry{Resource: fhir.Outcome([]fhir.Issue{{Severity: fhir.SeverityWarning, Code: fhir.IssueType("multiple-matches"), Diagnostics: warning}}),
			Search: map[string]string{"mode": "outcome"}})
	}
	return &Response{Status: http.StatusOK, Body: b.finish()}, nil
}

type scored struct {
	v store.Version
	r match.Result
}

// MatchCandidates returns the current Patients found by the blocks of
// query (match.Blocks), each once, leaving out patients merged into
// another (a replaced-by link): their data now lives in the survivor.
func (s *Service) MatchCandidates(ctx context.Context, req *Request, query *match.Patient, base string) ([]store.Version, error) {
	seen := map[string]bool{}
	var out []store.Version
	for _, b := range match.Blocks(query) {
		var params []searchparam.Param
		switch {
		case b.NHS != "":
			params = []searchparam.Param{{Name: "identifier", Value: nhsnumber.System + "|" + b.NHS}}
		case b.BirthDate != "":
			params = []searchparam.Param{{Name: "birthdate", Value: b.BirthDate}}
		default:
			params = []searchparam.Param{{Name: "family", Value: b.FamilyPrefix}}
			if b.BirthYearFrom != 0 {
				params = append(params,
					searchparam.Param{Name: "birthdate", Value: fmt.Sprintf("ge%04d-01-01", b.BirthYearFrom)},
					searchparam.Param{Name: "birthdate", Value: fmt.Sprintf("le%04d-12-31", b.BirthYearTo)})
			}
		}
		vs, err := s.searchPatients(ctx, req, params, base, matchBlockLimit)
		if err != nil {
			return nil, err
		}
		for _, v := range vs {
			if seen[v.ID] || replaced(v.Body) {
				continue
			}
			seen[v.ID] = true
			out = append(out, v)
		}
	}
	return out, nil
}

// searchPatients runs one Patient search of at most limit matches.
func (s *Service) searchPatients(ctx context.Context, req *Request, params []searchparam.Param, base string, limit int) ([]store.Version, error) {
	params = append(params, searchparam.Param{Name: "_count", Value: strconv.Itoa(limit)})
	q, err := searchparam.Parse(s.opts.Search.Registry, "Patient", params, searchparam.Options{Now: s.opts.Now(), Base: base})
	if err != nil {
		return nil, err
	}
	q.Total = searchparam.TotalNone
	res, err := s.opts.Search.Engine.Search(ctx, q, search.Options{Where: s.searchWhere(req, nil)})
	if err != nil {
		return nil, err
	}
	noteSeen(req, res.Matches)
	return res.Matches, nil
}

// replaced reports whether a Patient has been merged into another: it
// carries a link of type replaced-by (R4 link-type).
func replaced(body []byte) bool {
	for _, l := range patientLinks(body) {
		if l.Type == "replaced-by" {
			return true
		}
	}
	return false
}

// patientLink is one Patient.link.
type patientLink struct {
	Other struct {
		Reference string `json:"reference"`
	} `json:"other"`
	Type string `json:"type"`
}

func patientLinks(body []byte) []patientLink {
	var p struct {
		Link []patientLink `json:"link"`
	}
	_ = json.Unmarshal(body, &p)
	return p.Link
}
