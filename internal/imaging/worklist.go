package imaging

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/interaction"
)

// Register adds ImagingStudy/$worklist (type level, GET or POST) and
// ImagingStudy/{id}/$ai-triage (instance level, POST) to svc. Both run
// as the caller: the access decision covers the operation and every
// read and write it makes, and each is audited.
func (s *Service) Register(svc *interaction.Service) {
	svc.Register(interaction.OperationDef{Name: "worklist", Scope: interaction.ScopeType, Types: []string{"ImagingStudy"}, Safe: true,
		Definition: WorklistDefinition, Do: s.worklistOp})
	svc.Register(interaction.OperationDef{Name: "ai-triage", Scope: interaction.ScopeInstance, Types: []string{"ImagingStudy"},
		Definition: TriageDefinition, Do: s.triageOp})
}

// The operations' canonical URLs.
const (
	WorklistDefinition = "https://github.com/nhs-junction/junction/fhir/OperationDefinition/ImagingStudy-worklist"
	TriageDefinition   = "https://github.com/nhs-junction/junction/fhir/OperationDefinition/ImagingStudy-ai-triage"
	// Extensions on a worklist entry.
	ExtTriageStatus = "https://github.com/nhs-junction/junction/fhir/StructureDefinition/ai-triage-status"
	ExtTriageNote   = "https://github.com/nhs-junction/junction/fhir/StructureDefinition/ai-triage-note"
	ExtTriageObs    = "https://github.com/nhs-junction/junction/fhir/StructureDefinition/ai-triage-observation"
	ExtWaitingSince = "https://github.com/nhs-junction/junction/fhir/StructureDefinition/waiting-since"
)

func (s *Service) triageOp(ctx context.Context, req *interaction.Request) (*interaction.Response, error) {
	obs, err := s.Triage(ctx, req, req.ID)
	if err != nil {
		return nil, err
	}
	return &interaction.Response{Status: http.StatusOK, Body: obs}, nil
}

// Triage states of a worklist entry.
const (
	StatusScored      = "scored"
	StatusUnavailable = "unavailable" // the model failed, timed out or answered out of contract
	StatusPending     = "pending"     // not triaged yet (or no model configured)
)

// Item is one study on the worklist.
type Item struct {
	Study   json.RawMessage
	ID      string
	Waiting time.Time // started, else when the study was recorded
	Status  string
	Score   float64
	Note    string
	ObsID   string
}

// reportedStatuses are the DiagnosticReport statuses that report a
// study: a preliminary or partial report leaves it on the worklist.
var reportedStatuses = "final,amended,corrected,appended"

// Worklist returns the caller's unreported studies (registered,
// available or unknown, with no final, amended, corrected or appended
// DiagnosticReport the caller can see naming them in imagingStudy),
// scored studies first by score (highest first), then the others; ties
// and the unscored by waiting time (longest first).
func (s *Service) Worklist(ctx context.Context, base *interaction.Request) ([]Item, error) {
	studies, err := s.searchAll(ctx, base, "ImagingStudy", url.Values{"status": {"registered,available,unknown"}})
	if err != nil {
		return nil, err
	}
	items := map[string]*Item{}
	var order []string
	patients := map[string]bool{}
	for _, raw := range studies {
		var st study
		if json.Unmarshal(raw, &st) != nil || st.ID == "" {
			continue
		}
		w, err := time.Parse(time.RFC3339Nano, st.Started)
		if err != nil {
			w, _ = time.Parse(time.RFC3339Nano, st.Meta.LastUpdated)
		}
		note := "AI triage pending"
		if s.opts.Model == nil {
			note = "AI triage is not configured on this server"
		}
		items[st.ID] = &Item{Study: raw, ID: st.ID, Waiting: w, Status: StatusPending, Note: note}
		order = append(order, st.ID)
		if st.Subject.Reference != "" {
			patients[st.Subject.Reference] = true
		}
	}
	// Reported studies leave the list. DiagnosticReport has no search
	// parameter on imagingStudy in R4, so the patients' reports are read.
	for _, batch := range batches(keys(patients), 50) {
		reports, err := s.searchAll(ctx, base, "DiagnosticReport", url.Values{"subject": {strings.Join(batch, ",")}, "status": {reportedStatuses}})
		if err != nil {
			return nil, err
		}
		for _, raw := range reports {
			var dr struct {
				Status       string
				ImagingStudy []struct{ Reference string }
			}
			if json.Unmarshal(raw, &dr) != nil || !strings.Contains(reportedStatuses, dr.Status) {
				continue
			}
			for _, r := range dr.ImagingStudy {
				delete(items, strings.TrimPrefix(r.Reference, "ImagingStudy/"))
			}
		}
	}
	var ids []string
	for _, id := range order {
		if items[id] != nil {
			ids = append(ids, "ImagingStudy/"+id)
		}
	}
	for _, batch := range batches(ids, 50) {
		obs, err := s.searchAll(ctx, base, "Observation", url.Values{"code": {TriageSystem + "|" + TriageCode}, "derived-from": {strings.Join(batch, ",")}})
		if err != nil {
			return nil, err
		}
		applyTriage(items, obs)
	}
	var out []Item
	for _, id := range order {
		if it := items[id]; it != nil {
			out = append(out, *it)
		}
	}
	Rank(out)
	return out, nil
}

// applyTriage sets each study's triage from its Observations: the
// latest score when there is one (a later failed re-run does not hide a
// valid score), else the latest failure.
func applyTriage(items map[string]*Item, obs []json.RawMessage) {
	type best struct {
		issued string
		scored bool
	}
	seen := map[string]best{}
	for _, raw := range obs {
		var o struct {
			ID            string
			Status        string
			Issued        string
			DerivedFrom   []struct{ Reference string }
			ValueQuantity *struct{ Value *float64 }
			Note          []struct{ Text string }
		}
		if json.Unmarshal(raw, &o) != nil || o.Status == "entered-in-error" {
			continue
		}
		scored := o.Status != "cancelled" && o.ValueQuantity != nil && o.ValueQuantity.Value != nil
		for _, d := range o.DerivedFrom {
			id := strings.TrimPrefix(d.Reference, "ImagingStudy/")
			it := items[id]
			if it == nil {
				continue
			}
			b, had := seen[id]
			if had && (b.scored && !scored || b.scored == scored && b.issued >= o.Issued) {
				continue
			}
			seen[id] = best{o.Issued, scored}
			it.ObsID = o.ID
			if scored {
				it.Status, it.Score, it.Note = StatusScored, *o.ValueQuantity.Value, ""
			} else {
				it.Status, it.Note = StatusUnavailable, "AI triage unavailable"
				if len(o.Note) > 0 {
					it.Note = o.Note[0].Text
				}
			}
		}
	}
}

// Rank orders a worklist: scored studies by score, highest first, then
// every other study (triage unavailable or pending), each group's ties
// by waiting time, longest first; then by id, so the order is total.
func Rank(items []Item) {
	sort.SliceStable(items, func(i, j int) bool {
		a, b := items[i], items[j]
		as, bs := a.Status == StatusScored, b.Status == StatusScored
		if as != bs {
			return as
		}
		if as && a.Score != b.Score {
			return a.Score > b.Score
		}
		if !a.Waiting.Equal(b.Waiting) {
			return a.Waiting.Before(b.Waiting)
		}
		return a.ID < b.ID
	})
}

func (s *Service) worklistOp(ctx context.Context, req *interaction.Request) (*interaction.Response, error) {
	for k := range req.Query {
		if k != "_format" && k != "_pretty" {
			return nil, fhir.Errorf(400, fhir.IssueNotSupported, "$worklist takes no parameter %q", k)
		}
	}
	items, err := s.Worklist(ctx, req)
	if err != nil {
		return nil, err
	}
	entries := []any{}
	for _, it := range items {
		ext := []any{
			map[string]any{"url": ExtTriageStatus, "valueCode": it.Status},
			map[string]any{"url": ExtWaitingSince, "valueDateTime": it.Waiting.UTC().Format(time.RFC3339)},
		}
		if it.Note != "" {
			ext = append(ext, map[string]any{"url": ExtTriageNote, "valueString": it.Note})
		}
		if it.ObsID != "" {
			ext = append(ext, map[string]any{"url": ExtTriageObs, "valueReference": map[string]any{"reference": "Observation/" + it.ObsID}})
		}
		search := map[string]any{"mode": "match"}
		if it.Status == StatusScored {
			search["score"] = it.Score
		}
		entries = append(entries, map[string]any{"extension": ext,
			"fullUrl": strings.TrimSuffix(req.BaseURL, "/") + "/ImagingStudy/" + it.ID, "resource": it.Study, "search": search})
	}
	body, err := json.Marshal(map[string]any{"resourceType": "Bundle", "type": "searchset", "total": len(items),
		"timestamp": s.opts.Now().UTC().Format(time.RFC3339), "entry": entries})
	if err != nil {
		return nil, err
	}
	return &interaction.Response{Status: http.StatusOK, Body: body}, nil
}

// searchAll runs a search as the caller of base and returns every
// match, following the next links.
func (s *Service) searchAll(ctx context.Context, base *interaction.Request, typ string, q url.Values) ([]json.RawMessage, error) {
	q.Set("_count", "500")
	var out []json.RawMessage
	for {
		resp, err := s.opts.FHIR.Do(ctx, &interaction.Request{Kind: interaction.SearchType, Type: typ, Query: q, Method: http.MethodGet, Caller: base.Caller, BaseURL: base.BaseURL})
		if err != nil {
			return nil, err
		}
		var b struct {
			Link  []struct{ Relation, URL string }
			Entry []struct {
				Resource json.RawMessage
				Search   *struct{ Mode string }
			}
		}
		if err := json.Unmarshal(resp.Body, &b); err != nil {
			return nil, err
		}
		for _, e := range b.Entry {
			if e.Search != nil && e.Search.Mode != "match" {
				continue
			}
			out = append(out, e.Resource)
		}
		next := ""
		for _, l := range b.Link {
			if l.Relation == "next" {
				next = l.URL
			}
		}
		if next == "" {
			return out, nil
		}
		u, err := url.Parse(next)
		if err != nil {
			return nil, err
		}
		q = u.Query()
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func batches(xs []string, n int) [][]string {
	var out [][]string
	for len(xs) > 0 {
		k := min(n, len(xs))
		out = append(out, xs[:k])
		xs = xs[k:]
	}
	return out
}
