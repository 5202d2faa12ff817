package interaction

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/nhs-junction/junction/internal/access"
	"github.com/nhs-junction/junction/internal/audit"
	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/search"
	"github.com/nhs-junction/junction/internal/searchparam"
	"github.com/nhs-junction/junction/internal/store"
)

// Junction's own audit operations; each OperationDefinition URL names it.
const (
	proofDefinition     = "https://fhir.junction.nhs.uk/OperationDefinition/AuditEvent-proof"
	accessLogDefinition = "https://fhir.junction.nhs.uk/OperationDefinition/Patient-access-log"
	disputeDefinition   = "https://fhir.junction.nhs.uk/OperationDefinition/Patient-dispute"
)

// RegisterAudit adds the audit operations:
//
//   - GET AuditEvent/{id}/$proof[?version=n]: the inclusion proof of the
//     AuditEvent in the transparency log (audit.Proof.Parameters); 404
//     when it is not in the log, 503 with Retry-After while it waits for
//     a signed checkpoint.
//   - GET Patient/{id}/$access-log[?_count=n]: the patient's access log,
//     newest first and paged: who (name, role, organisation, app), when,
//     what they did and saw, why, break-glass flagged, and the outcome.
//     For the patient themselves and privacy officers (read-audit).
//   - POST Patient/{id}/$dispute with a Parameters of auditEvent
//     (valueReference) and comment (valueString): the patient disputes an
//     entry of their access log; a Task (code access.DisputeCode, status
//     requested, focus the AuditEvent, for the patient) is created for
//     privacy officers to work.
func (s *Service) RegisterAudit() {
	s.Register(OperationDef{Name: "proof", Scope: ScopeInstance, Types: []string{"AuditEvent"}, Safe: true, Definition: proofDefinition, Do: s.auditProof})
	s.Register(OperationDef{Name: "access-log", Scope: ScopeInstance, Types: []string{"Patient"}, Safe: true, Definition: accessLogDefinition, Do: s.accessLog})
	s.Register(OperationDef{Name: "dispute", Scope: ScopeInstance, Types: []string{"Patient"}, Definition: disputeDefinition, Do: s.dispute})
}

func (s *Service) auditOn() error {
	if s.audit == nil {
		return fhir.Errorf(405, fhir.IssueNotSupported, "This server runs without its audit log (--audit off)")
	}
	return nil
}

func (s *Service) auditProof(ctx context.Context, req *Request) (*Response, error) {
	if err := s.auditOn(); err != nil {
		return nil, err
	}
	var version int64
	if vs := req.Query["version"]; len(vs) > 0 {
		n, err := strconv.ParseInt(vs[0], 10, 64)
		if err != nil || n < 1 {
			return nil, fhir.Errorf(400, fhir.IssueValue, "version must be a version number of the AuditEvent")
		}
		version = n
	}
	// The caller must be allowed to read the AuditEvent itself.
	v, err := s.readVisible(ctx, req, "AuditEvent", req.ID, version)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("AuditEvent", req.ID)
	} else if err != nil {
		return nil, err
	}
	noteSeen(req, []store.Version{v})
	if s.audit.Log == nil {
		return nil, fhir.Errorf(503, fhir.IssueTransient, "The transparency log is not published by this process")
	}
	p, err := s.audit.Log.Prove(ctx, v.ID, v.Version)
	switch {
	case errors.Is(err, audit.ErrNotLogged):
		return nil, fhir.Errorf(404, fhir.IssueNotFound, "AuditEvent/%s/_history/%d is not in the transparency log", v.ID, v.Version)
	case errors.Is(err, audit.ErrPending):
		s.audit.Log.Notify()
		e := fhir.Errorf(503, fhir.IssueTransient, "AuditEvent/%s is queued for the transparency log but not yet in a signed checkpoint; retry shortly", v.ID)
		e.Header = http.Header{"Retry-After": {"1"}}
		return nil, e
	case err != nil:
		return nil, err
	}
	return &Response{Status: http.StatusOK, Body: p.Parameters()}, nil
}

// accessLog answers Patient/{id}/$access-log. The access decision
// ($access-log needs read-audit, and a patient may name only themselves)
// has been made; the search of the AuditEvents about the patient then
// runs without the caller's AuditEvent scope, which the operation does
// not need.
func (s *Service) accessLog(ctx context.Context, req *Request) (*Response, error) {
	if err := s.auditOn(); err != nil {
		return nil, err
	}
	if s.opts.Search.Engine == nil {
		return nil, fhir.Errorf(405, fhir.IssueNotSupported, "$access-log needs search, which is not enabled")
	}
	if _, err := s.readVisible(ctx, req, "Patient", req.ID, 0); errors.Is(err, store.ErrNotFound) {
		return nil, notFound("Patient", req.ID)
	} else if err != nil {
		return nil, err
	}
	params := []searchparam.Param{{Name: "entity", Value: "Patient/" + req.ID}, {Name: "_sort", Value: "-date"}}
	for name, vals := range req.Query {
		switch {
		case formatParams[name]:
		case name == "_count" || name == "_cursor":
			for _, v := range vals {
				params = append(params, searchparam.Param{Name: name, Value: v})
			}
		case !req.Lenient:
			return nil, fhir.Errorf(400, fhir.IssueNotSupported, "Unknown $access-log parameter %q (supported: _count)", clip(name))
		}
	}
	q, err := searchparam.Parse(s.opts.Search.Registry, "AuditEvent", params, searchparam.Options{Now: s.opts.Now(), Base: req.BaseURL})
	if err != nil {
		return nil, err
	}
	q.Total = searchparam.TotalAccurate
	res, err := s.opts.Search.Engine.Search(ctx, q, search.Options{})
	if err != nil {
		return nil, err
	}
	var out parameters
	if res.Total >= 0 {
		out.add("total", "valueInteger", res.Total)
	}
	path := "/Patient/" + req.ID + "/$access-log"
	self := url.Values{}
	if c := req.Query.Get("_count"); c != "" {
		self.Set("_count", c)
	}
	if res.Next != nil {
		next := cloneValues(self)
		next.Set("_cursor", res.Next.Encode())
		out.add("next", "valueUri", pageURL(req.BaseURL, path, next))
	}
	for _, v := range res.Matches {
		sum, err := audit.Summarize(v.Body)
		if err != nil {
			return nil, err
		}
		out.addPart("access", s.accessParts(v, sum)...)
	}
	return &Response{Status: http.StatusOK, Body: out.bytes()}, nil
}

// accessParts renders one access-log entry.
func (s *Service) accessParts(v store.Version, sum audit.Summary) []part {
	ps := []part{{"when", "valueInstant", sum.When}}
	who := sum.Who
	if who == "" {
		who = "unidentified"
	}
	if sum.UserKind == "patient" {
		who += " (patient)"
	}
	ps = append(ps, part{"who", "valueString", who})
	if sum.WhoRef != "" {
		ps = append(ps, part{"whoReference", "valueReference", map[string]string{"reference": sum.WhoRef}})
	}
	for _, r := range sum.Roles {
		text := r
		if rp, ok := s.opts.Access.Policy().Roles[r[strings.LastIndexByte(r, ':')+1:]]; ok && rp.Name != "" {
			text += " " + rp.Name
		}
		ps = append(ps, part{"role", "valueString", text})
	}
	if sum.Org != "" {
		org := sum.Org
		if sum.OrgName != "" {
			org = sum.OrgName + " (" + sum.Org + ")"
		}
		ps = append(ps, part{"organisation", "valueString", org})
	}
	if sum.Client != "" {
		ps = append(ps, part{"app", "valueString", sum.Client})
	}
	ps = append(ps, part{"action", "valueString", sum.Interaction})
	for _, w := range sum.What {
		ps = append(ps, part{"what", "valueString", w})
	}
	if sum.Query != "" {
		ps = append(ps, part{"query", "valueString", sum.Query})
	}
	for _, p := range sum.Purpose {
		ps = append(ps, part{"why", "valueCoding", map[string]string{"system": access.PurposeSystem, "code": p}})
	}
	ps = append(ps, part{"breakGlass", "valueBoolean", sum.BreakGlass})
	if sum.Reason != "" {
		ps = append(ps, part{"breakGlassReason", "valueString", sum.Reason})
	}
	ps = append(ps, part{"outcome", "valueString", audit.OutcomeText(sum.Outcome)})
	ps = append(ps, part{"auditEvent", "valueReference", map[string]string{"reference": "AuditEvent/" + v.ID}})
	return ps
}

// dispute answers POST Patient/{id}/$dispute: the patient's objection
// to an entry of their access log becomes a Task for privacy officers.
func (s *Service) dispute(ctx context.Context, req *Request) (*Response, error) {
	if err := s.auditOn(); err != nil {
		return nil, err
	}
	c := req.Caller
	if c == nil || (c.Kind != access.Development && !(c.Kind == access.PatientUser && slices.Contains(c.Patients, req.ID))) {
		return nil, fhir.Errorf(403, fhir.IssueForbidden, "Only the patient may dispute an entry of their access log")
	}
	p, isParams, err := ReadParams(req)
	if err != nil {
		return nil, err
	}
	if !isParams {
		return nil, fhir.Errorf(400, fhir.IssueInvalid, "$dispute takes a Parameters body with auditEvent and comment")
	}
	comment, _ := p.String("comment")
	if strings.TrimSpace(comment) == "" {
		return nil, fhir.Errorf(400, fhir.IssueRequired, "$dispute needs a comment (valueString) saying what is wrong")
	}
	var ref struct{ Reference string }
	if vs := p["auditEvent"]; len(vs) == 1 {
		_ = json.Unmarshal(vs[0], &ref)
	}
	aeID, ok := strings.CutPrefix(strings.TrimPrefix(ref.Reference, req.BaseURL+"/"), "AuditEvent/")
	if i := strings.Index(aeID, "/_history/"); ok && i >= 0 {
		aeID = aeID[:i]
	}
	if !ok || !fhir.ValidID(aeID) {
		return nil, fhir.Errorf(400, fhir.IssueRequired, "$dispute needs one auditEvent (valueReference AuditEvent/[id]) from the access log")
	}
	// The AuditEvent must be an entry of this patient's access log.
	pats, err := s.auditEventPatients(ctx, aeID)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(pats, req.ID) {
		return nil, fhir.Errorf(404, fhir.IssueNotFound, "AuditEvent/%s is not an entry of this patient's access log", aeID)
	}
	task := map[string]any{
		"resourceType": "Task",
		"status":       "requested",
		"intent":       "order",
		"priority":     "routine",
		"code": map[string]any{"coding": []map[string]string{{"system": access.DisputeSystem, "code": access.DisputeCode, "display": "Patient disputes an access to their record"}},
			"text": "Access dispute"},
		"description": "The patient disputes this access to their record and asks for it to be reviewed",
		"focus":       map[string]string{"reference": "AuditEvent/" + aeID},
		"for":         map[string]string{"reference": "Patient/" + req.ID},
		"authoredOn":  fhir.FormatInstant(s.opts.Now()),
		"requester":   map[string]string{"reference": "Patient/" + req.ID},
		"note":        []map[string]string{{"text": comment}},
	}
	body, _ := json.Marshal(task)
	// The Task is written by the server for the patient, whose access
	// was decided for $dispute: it is not subject to the patient's
	// scopes on Task, which a patient app rarely holds.
	tr := &Request{Kind: Create, Type: "Task", Body: body, Caller: req.Caller, BaseURL: req.BaseURL}
	op, err := s.prepare(tr)
	if err != nil {
		return nil, err
	}
	err = s.write(ctx, tr, func(tx store.Tx) error {
		if err := op.apply(ctx, tx); err != nil {
			return err
		}
		return s.auditWrites(ctx, tx, req, opWrites([]*writeOp{op}), true)
	})
	if err != nil {
		return nil, writeError(err, tr)
	}
	s.auditNotify(req)
	s.committed(op.out)
	return s.written(tr, *op.out, http.StatusCreated), nil
}

// auditEventPatients returns the patients an AuditEvent's current
// version names (its Patient compartments, as indexed).
func (s *Service) auditEventPatients(ctx context.Context, id string) ([]string, error) {
	if s.audit.DB == nil {
		return nil, errors.New("interaction: auditing has no database to read")
	}
	return s.currentPatients(ctx, "AuditEvent", id)
}
