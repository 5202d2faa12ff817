package interaction

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/identity/match"
	"github.com/nhs-junction/junction/internal/search"
	"github.com/nhs-junction/junction/internal/searchparam"
	"github.com/nhs-junction/junction/internal/store"
)

// MergeForceParam is Junction's own $merge input parameter (valueBoolean):
// true performs a merge that would otherwise be refused because the two
// patients carry different NHS numbers. Access control is to make it a
// privileged activity; until then any caller may send it.
const MergeForceParam = "force"

// patientMerge is Patient/$merge as FHIR R5 defines it
// (patient-operation-merge; R4 has no merge): source-patient or
// source-patient-identifier, target-patient or target-patient-identifier,
// optional result-patient (the target as it should be afterwards) and
// preview. In one store transaction it repoints every indexed reference
// to the source at the target, writes the source inactive with a
// replaced-by link and the target with a replaces link and the source's
// identifiers (use old). Every resource it changes gets a new version, so
// history keeps the state before the merge. The answer is the R5 output:
// a Parameters with input, outcome and result (the target Patient); with
// preview=true nothing is written and the outcome lists what would be.
//
// Refusals (422): source and target the same; identifiers that do not
// resolve to exactly one patient (R5: "SHALL reject"); a source already
// merged; different NHS numbers on the two, unless force=true.
func (s *Service) patientMerge(ctx context.Context, req *Request) (*Response, error) {
	if s.opts.Search.Engine == nil {
		return nil, fhir.Errorf(405, fhir.IssueNotSupported, "$merge needs search, which is not enabled")
	}
	p, isParams, err := ReadParams(req)
	if err != nil {
		return nil, err
	}
	if !isParams {
		return nil, fhir.Errorf(400, fhir.IssueInvalid, "$merge takes a Parameters body")
	}
	boolParam := func(name string) (bool, error) {
		v, ok := p.String(name)
		if !ok {
			return false, nil
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return false, fhir.Errorf(400, fhir.IssueValue, "%s must be true or false", name)
		}
		return b, nil
	}
	preview, err := boolParam("preview")
	if err != nil {
		return nil, err
	}
	force, err := boolParam(MergeForceParam)
	if err != nil {
		return nil, err
	}
	srcID, err := s.mergeParty(ctx, req, p, "source-patient", req.BaseURL)
	if err != nil {
		return nil, err
	}
	tgtID, err := s.mergeParty(ctx, req, p, "target-patient", req.BaseURL)
	if err != nil {
		return nil, err
	}
	if srcID == tgtID {
		return nil, fhir.Errorf(422, fhir.IssueBusinessRule, "The source and target are the same patient (Patient/%s)", srcID)
	}
	var resultPatient *fhir.Object
	if rs := p["result-patient"]; len(rs) > 0 {
		if resultPatient, err = s.parseBody(rs[0], "Patient", false); err != nil {
			return nil, err
		}
		if id, _ := resultPatient.GetString("id"); id != tgtID {
			return nil, fhir.Errorf(400, fhir.IssueInvalid, "result-patient must have the target's id %q", tgtID)
		}
	}
	referrers, err := s.referrers(ctx, srcID, req.BaseURL)
	if err != nil {
		return nil, err
	}
	var changed []string
	var result store.Version
	var stored []auditWrite
	if req.aud != nil {
		req.aud.patients = []string{srcID, tgtID}
	}
	err = s.write(ctx, req, func(tx store.Tx) error {
		changed, result, stored = nil, store.Version{}, nil
		src, err := currentPatient(ctx, tx, srcID)
		if err != nil {
			return err
		}
		tgt, err := currentPatient(ctx, tx, tgtID)
		if err != nil {
			return err
		}
		if replaced(src.Body) {
			return fhir.Errorf(422, fhir.IssueBusinessRule, "Patient/%s has already been merged into another patient", srcID)
		}
		sp, _ := match.Parse(src.Body)
		tp, _ := match.Parse(tgt.Body)
		if sp != nil && tp != nil && !force && conflictingNHS(sp, tp) {
			return fhir.Errorf(422, fhir.IssueBusinessRule, "Patient/%s and Patient/%s have different NHS numbers (%s, %s); merging would lose one. Send %s=true to merge anyway",
				srcID, tgtID, strings.Join(sp.NHS, ","), strings.Join(tp.NHS, ","), MergeForceParam)
		}
		now := tx.Now()
		put := func(cur store.Version, body []byte) (store.Version, error) {
			obj, err := fhir.ParseObject(body)
			if err != nil {
				return store.Version{}, err
			}
			stamped, err := fhir.Stamp(obj, cur.ID, cur.Version+1, now)
			if err != nil {
				return store.Version{}, err
			}
			changed = append(changed, cur.Type+"/"+cur.ID)
			if preview {
				return store.Version{Type: cur.Type, ID: cur.ID, Version: cur.Version + 1, Body: stamped}, nil
			}
			v, err := tx.Put(ctx, store.Version{Type: cur.Type, ID: cur.ID, Version: cur.Version + 1, LastUpdated: now, Body: stamped})
			if err == nil {
				stored = append(stored, auditWrite{kind: Update, typ: v.Type, id: v.ID, v: &v})
			}
			return v, err
		}
		repoint := func(ref string) (string, bool) {
			if ref == "Patient/"+srcID || ref == req.BaseURL+"/Patient/"+srcID {
				return "Patient/" + tgtID, true
			}
			return "", false
		}
		for _, key := range referrers {
			if key == "Patient/"+srcID || key == "Patient/"+tgtID {
				continue
			}
			typ, id, _ := strings.Cut(key, "/")
			cur, err := tx.Current(ctx, typ, id)
			if errors.Is(err, store.ErrNotFound) {
				continue
			} else if err != nil {
				return err
			}
			if cur.Deleted {
				continue
			}
			body, ok, err := fhir.RewriteReferences(cur.Body, repoint)
			if err != nil || !ok {
				continue
			}
			if _, err := put(cur, body); err != nil {
				return err
			}
		}
		srcBody, err := mergedSource(src.Body, tgtID)
		if err != nil {
			return err
		}
		if _, err := put(src, srcBody); err != nil {
			return err
		}
		tgtBody := tgt.Body
		if resultPatient != nil {
			tgtBody, _ = json.Marshal(resultPatient)
		}
		if tgtBody, err = mergedTarget(tgtBody, srcID, sp, resultPatient == nil); err != nil {
			return err
		}
		if result, err = put(tgt, tgtBody); err != nil || preview {
			return err
		}
		if err := runCommitHook(ctx, tx, changed); err != nil {
			return err
		}
		return s.auditWrites(ctx, tx, req, stored, true)
	})
	if err != nil {
		return nil, writeError(err, req)
	}
	s.auditNotify(req)
	if !preview {
		s.committed(&result)
	}
	sort.Strings(changed)
	verb := "Merged"
	if preview {
		verb = "Preview: would merge"
	}
	issues := []fhir.Issue{{Severity: fhir.SeverityInformation, Code: fhir.IssueInformational,
		Diagnostics: fmt.Sprintf("%s Patient/%s into Patient/%s, writing %d resources: %s", verb, srcID, tgtID, len(changed), strings.Join(changed, ", "))}}
	out := parameters{}
	out.add("input", "resource", json.RawMessage(req.Body))
	out.add("outcome", "resource", json.RawMessage(fhir.Outcome(issues)))
	out.add("result", "resource", json.RawMessage(result.Body))
	return &Response{Status: http.StatusOK, Body: out.bytes()}, nil
}

// mergeParty resolves the source or target of a merge from its reference
// parameter (prefix) or its identifier parameters (prefix-identifier).
func (s *Service) mergeParty(ctx context.Context, req *Request, p Params, prefix, base string) (string, error) {
	refs, ids := p[prefix], p[prefix+"-identifier"]
	switch {
	case len(refs) > 1:
		return "", fhir.Errorf(400, fhir.IssueInvalid, "$merge takes one %s", prefix)
	case len(refs) == 0 && len(ids) == 0:
		return "", fhir.Errorf(400, fhir.IssueRequired, "$merge needs %s or %s-identifier", prefix, prefix)
	}
	found := ""
	if len(refs) == 1 {
		var r struct{ Reference string }
		_ = json.Unmarshal(refs[0], &r)
		id, ok := strings.CutPrefix(strings.TrimPrefix(r.Reference, base+"/"), "Patient/")
		if !ok || !fhir.ValidID(id) {
			return "", fhir.Errorf(400, fhir.IssueValue, "%s must be a reference Patient/[id]", prefix)
		}
		found = id
	}
	for _, raw := range ids {
		id, ok := identifierParam(raw)
		if !ok || id.System == "" || id.Value == "" {
			return "", fhir.Errorf(400, fhir.IssueValue, "%s-identifier must have a system and a value", prefix)
		}
		vs, err := s.searchPatients(ctx, req, []searchparam.Param{{Name: "identifier", Value: tokenEscape(id.System) + "|" + tokenEscape(id.Value)}}, base, 2)
		if err != nil {
			return "", err
		}
		if len(vs) != 1 || (found != "" && vs[0].ID != found) {
			return "", fhir.Errorf(422, fhir.IssueBusinessRule, "%s-identifier %s|%s does not identify exactly one patient (the same as the other %s parameters)", prefix, clip(id.System), clip(id.Value), prefix)
		}
		found = vs[0].ID
	}
	return found, nil
}

// referrers lists, as Type/id, every current resource with an indexed
// reference to Patient/id: the search engine's reference index queried as
// a compartment whose parameters are every reference parameter that may
// target a Patient. References outside search parameters (an extension's
// valueReference) are rewritten too when their resource is found this
// way, but a resource referring to the patient only there is not found.
func (s *Service) referrers(ctx context.Context, id, base string) ([]string, error) {
	comp := &search.Compartment{Type: "Patient", ID: id, ByType: map[string][]string{}}
	var types []string
	for _, t := range s.opts.ResourceTypes {
		for _, d := range s.opts.Search.Registry.Params(t) {
			if d.Kind == searchparam.KindReference && (len(d.Targets) == 0 || contains(d.Targets, "Patient")) {
				comp.ByType[t] = append(comp.ByType[t], d.Name)
			}
		}
		if len(comp.ByType[t]) > 0 {
			types = append(types, t)
		}
	}
	q, err := searchparam.Parse(s.opts.Search.Registry, "", []searchparam.Param{{Name: "_type", Value: strings.Join(types, ",")}, {Name: "_count", Value: "1000"}},
		searchparam.Options{Now: s.opts.Now(), Base: base})
	if err != nil {
		return nil, err
	}
	q.Total = searchparam.TotalNone
	var out []string
	opt := search.Options{Compartment: comp}
	for {
		res, err := s.opts.Search.Engine.Search(ctx, q, opt)
		if err != nil {
			return nil, err
		}
		for _, v := range res.Matches {
			if v.Type == "AuditEvent" {
				continue // the audit log is never rewritten, not even by a merge
			}
			out = append(out, v.Type+"/"+v.ID)
		}
		if res.Next == nil {
			return out, nil
		}
		opt.Cursor = res.Next
	}
}

func currentPatient(ctx context.Context, tx store.Tx, id string) (store.Version, error) {
	v, err := tx.Current(ctx, "Patient", id)
	if errors.Is(err, store.ErrNotFound) {
		return v, notFound("Patient", id)
	} else if err != nil {
		return v, err
	}
	if v.Deleted {
		return v, gone(v)
	}
	return v, nil
}

func conflictingNHS(a, b *match.Patient) bool {
	if len(a.NHS) == 0 || len(b.NHS) == 0 {
		return false
	}
	for _, x := range a.NHS {
		if contains(b.NHS, x) {
			return false
		}
	}
	return true
}

// mergedSource marks the source inactive with a replaced-by link.
func mergedSource(body []byte, tgtID string) ([]byte, error) {
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, err
	}
	m["active"] = false
	links, _ := m["link"].([]any)
	m["link"] = append(links, map[string]any{"other": map[string]any{"reference": "Patient/" + tgtID}, "type": "replaced-by"})
	return json.Marshal(m)
}

// mergedTarget adds the replaces link and, unless the client sent the
// result-patient, the source's identifiers the target lacks, with use
// old so they still find the person but are not shown as current.
func mergedTarget(body []byte, srcID string, src *match.Patient, copyIDs bool) ([]byte, error) {
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, err
	}
	links, _ := m["link"].([]any)
	m["link"] = append(links, map[string]any{"other": map[string]any{"reference": "Patient/" + srcID}, "type": "replaces"})
	if copyIDs && src != nil {
		ids, _ := m["identifier"].([]any)
		have := map[match.Identifier]bool{}
		for _, x := range ids {
			if o, ok := x.(map[string]any); ok {
				sys, _ := o["system"].(string)
				val, _ := o["value"].(string)
				have[match.Identifier{System: sys, Value: val}] = true
			}
		}
		for _, id := range src.Identifier {
			if id.Value != "" && !have[id] {
				ids = append(ids, map[string]any{"use": "old", "system": id.System, "value": id.Value})
			}
		}
		if len(ids) > 0 {
			m["identifier"] = ids
		}
	}
	return json.Marshal(m)
}
