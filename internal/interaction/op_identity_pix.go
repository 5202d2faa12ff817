package interaction

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strings"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/identity/match"
	"github.com/nhs-junction/junction/internal/identity/nhsnumber"
	"github.com/nhs-junction/junction/internal/searchparam"
	"github.com/nhs-junction/junction/internal/store"
)

// pixMaxLinked bounds how many Patient records one person's cross-reference
// may gather, so a mistaken chain of links cannot walk the whole store.
const pixMaxLinked = 100

// patientPIX is Patient/$ihe-pix (IHE PIXm ITI-83). sourceIdentifier
// (system|value, required) names one patient; the answer is a Parameters
// resource with a targetIdentifier for every other identifier of the same
// person and a targetId reference to each of the person's Patient records,
// optionally only for the targetSystem domains asked for.
//
// The same person is: the Patients holding the source identifier, the
// Patients they link to or that link to them (Patient.link of any type:
// seealso, refer, replaces, replaced-by), and the Patients with the same
// valid NHS number that is not marked unresolved (verification status 04
// or 05), followed transitively.
//
// Errors follow ITI-83 section 2:3.83.4.2.3: sourceIdentifier missing or
// malformed, or its system (assigning authority) not known here, is 400;
// a known system but no patient with that value is 404; a targetSystem
// that is no domain known here is 403. A domain is known when at least one
// stored Patient has an identifier in it.
func (s *Service) patientPIX(ctx context.Context, req *Request) (*Response, error) {
	if s.opts.Search.Engine == nil {
		return nil, fhir.Errorf(405, fhir.IssueNotSupported, "$ihe-pix needs search, which is not enabled")
	}
	p, _, err := ReadParams(req)
	if err != nil {
		return nil, err
	}
	if len(p["sourceIdentifier"]) != 1 {
		return nil, fhir.Errorf(400, fhir.IssueRequired, "$ihe-pix needs exactly one sourceIdentifier (system|value)")
	}
	src, ok := identifierParam(p["sourceIdentifier"][0])
	if !ok || src.System == "" || src.Value == "" {
		return nil, fhir.Errorf(400, fhir.IssueValue, "sourceIdentifier must be system|value with both parts")
	}
	var targets []string
	for _, raw := range p["targetSystem"] {
		var t string
		if json.Unmarshal(raw, &t) != nil || t == "" {
			return nil, fhir.Errorf(400, fhir.IssueValue, "targetSystem must be a URI")
		}
		targets = append(targets, t)
	}
	known := func(system string) (bool, error) {
		vs, err := s.searchPatients(ctx, req, []searchparam.Param{{Name: "identifier", Value: tokenEscape(system) + "|"}}, req.BaseURL, 1)
		return len(vs) > 0, err
	}
	if ok, err := known(src.System); err != nil {
		return nil, err
	} else if !ok {
		return nil, fhir.Errorf(400, fhir.IssueCodeInvalid, "sourceIdentifier Assigning Authority not found: no patient has an identifier in %s", clip(src.System))
	}
	for _, t := range targets {
		if ok, err := known(t); err != nil {
			return nil, err
		} else if !ok {
			return nil, fhir.Errorf(403, fhir.IssueCodeInvalid, "targetSystem not found: no patient has an identifier in %s", clip(t))
		}
	}
	start, err := s.searchPatients(ctx, req, []searchparam.Param{{Name: "identifier", Value: tokenEscape(src.System) + "|" + tokenEscape(src.Value)}}, req.BaseURL, pixMaxLinked)
	if err != nil {
		return nil, err
	}
	if len(start) == 0 {
		return nil, fhir.Errorf(404, fhir.IssueNotFound, "sourceIdentifier Patient Identifier not found")
	}
	people, err := s.LinkedPatients(ctx, req, start, req.BaseURL)
	if err != nil {
		return nil, err
	}
	out := parameters{}
	seen := map[match.Identifier]bool{src: true}
	for _, v := range people {
		pat, err := match.Parse(v.Body)
		if err != nil {
			continue
		}
		contributes := len(targets) == 0
		for _, id := range pat.Identifier {
			if id.System == "" || id.Value == "" || seen[id] || (len(targets) > 0 && !contains(targets, id.System)) {
				continue
			}
			seen[id] = true
			contributes = true
			out.add("targetIdentifier", "valueIdentifier", map[string]string{"system": id.System, "value": id.Value})
		}
		if contributes {
			out.add("targetId", "valueReference", map[string]string{"reference": "Patient/" + v.ID})
		}
	}
	if out.list == nil {
		// PIXm: an empty Parameters when the person has no identifier in
		// the domains asked for.
		return &Response{Status: http.StatusOK, Body: []byte(`{"resourceType":"Parameters"}`)}, nil
	}
	return &Response{Status: http.StatusOK, Body: out.bytes()}, nil
}

// LinkedPatients returns the current Patients that are the same person as
// the start set, by Patient.link in either direction and by shared
// NHS numbers not marked unresolved, sorted by id after the start set.
// It stops at pixMaxLinked patients.
func (s *Service) LinkedPatients(ctx context.Context, req *Request, start []store.Version, base string) ([]store.Version, error) {
	var out []store.Version
	seen := map[string]bool{}
	queue := append([]store.Version(nil), start...)
	for _, v := range queue {
		seen[v.ID] = true
	}
	add := func(vs ...store.Version) {
		for _, v := range vs {
			if !seen[v.ID] && !v.Deleted && len(seen) < pixMaxLinked {
				seen[v.ID] = true
				queue = append(queue, v)
			}
		}
	}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		out = append(out, v)
		for _, l := range patientLinks(v.Body) {
			id, ok := strings.CutPrefix(l.Other.Reference, "Patient/")
			if !ok || seen[id] || !fhir.ValidID(id) {
				continue
			}
			w, err := s.store.Read(ctx, "Patient", id)
			if errors.Is(err, store.ErrNotFound) {
				continue
			} else if err != nil {
				return nil, err
			}
			add(w)
		}
		back, err := s.searchPatients(ctx, req, []searchparam.Param{{Name: "link", Value: "Patient/" + v.ID}}, base, pixMaxLinked)
		if err != nil {
			return nil, err
		}
		add(back...)
		if pat, err := match.Parse(v.Body); err == nil && !pat.NHSInDoubt() {
			for _, n := range pat.NHS {
				same, err := s.searchPatients(ctx, req, []searchparam.Param{{Name: "identifier", Value: nhsnumber.System + "|" + n}}, base, pixMaxLinked)
				if err != nil {
					return nil, err
				}
				for _, w := range same {
					if wp, err := match.Parse(w.Body); err == nil && !wp.NHSInDoubt() {
						add(w)
					}
				}
			}
		}
	}
	rest := out[len(start):]
	sort.Slice(rest, func(i, j int) bool { return rest[i].ID < rest[j].ID })
	return out, nil
}

// identifierParam reads an identifier given as a token string
// ("system|value", GET) or as a valueIdentifier (POST Parameters).
func identifierParam(raw json.RawMessage) (match.Identifier, bool) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		sys, val, ok := strings.Cut(s, "|")
		return match.Identifier{System: sys, Value: val}, ok
	}
	var id struct{ System, Value string }
	if json.Unmarshal(raw, &id) != nil {
		return match.Identifier{}, false
	}
	return match.Identifier{System: id.System, Value: id.Value}, true
}

// tokenEscape escapes the characters that are syntax in a token search
// value (R4 search.html#escaping).
func tokenEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `|`, `\|`, `,`, `\,`, `$`, `\$`).Replace(s)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
