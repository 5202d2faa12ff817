package interaction

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/nhs-junction/junction/internal/access"
	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/search"
	"github.com/nhs-junction/junction/internal/store"
)

// Break-glass (NHS national RBAC activity B0168, emergency access): a
// practitioner whose role permits it asserts, with a reason, that they
// need a patient's record in an emergency. POST
// [base]/Patient/[id]/$break-glass with a Parameters body holding
// "reason" (a string) records the grant and raises a review Task for
// privacy officers, in one transaction. For the grant's duration (the
// policy's breakGlassDuration, 4 hours by default) that practitioner's
// requests see that patient's record as if they had a care
// relationship, and every response that carries it is marked with the
// Break-Glass header. Consent that names them or their organisation, or
// denies even emergency access, still applies (see internal/access).

// BreakGlassTaskCode is the Task.code of a break-glass review.
const BreakGlassTaskCode = "break-glass-review"

// BreakGlassSystem is the code system of BreakGlassTaskCode.
const BreakGlassSystem = "https://fhir.junction.nhs.uk/CodeSystem/task-code"

// BreakGlassStore is where grants live: a read of the active one for a
// subject, and writes inside a store transaction.
type BreakGlassStore interface {
	access.Querier
}

// breakGlass keeps each subject's active grant for a short while, so a
// request does not read the grants table each time; opening a grant in
// this process clears its entry at once.
type breakGlass struct {
	db  access.Querier
	mu  sync.Mutex
	got map[string]bgEntry
}

type bgEntry struct {
	g    *access.BreakGlass
	read time.Time
}

// bgCacheFor bounds how stale a cached grant (or its absence) may be for
// a grant opened by another server process on the same database.
const bgCacheFor = 5 * time.Second

func (b *breakGlass) active(ctx context.Context, subject string, now time.Time) (*access.BreakGlass, error) {
	b.mu.Lock()
	e, ok := b.got[subject]
	b.mu.Unlock()
	if ok && now.Sub(e.read) < bgCacheFor && (e.g == nil || now.Before(e.g.Until)) {
		return e.g, nil
	}
	g, err := access.ActiveBreakGlass(ctx, b.db, subject, now)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	if b.got == nil || len(b.got) > 10000 {
		b.got = map[string]bgEntry{}
	}
	b.got[subject] = bgEntry{g, now}
	b.mu.Unlock()
	return g, nil
}

func (b *breakGlass) forget(subject string) {
	b.mu.Lock()
	delete(b.got, subject)
	b.mu.Unlock()
}

// RegisterBreakGlass enables $break-glass over db, the store's read
// access to the tables beside the resources, with grants lasting d; the
// same access lets searches tell when they withheld part of a record.
func (s *Service) RegisterBreakGlass(db access.Querier, d time.Duration) {
	s.bg = &breakGlass{db: db}
	s.tables = db
	s.bgFor = d
	s.Register(OperationDef{Name: "break-glass", Scope: ScopeInstance, Types: []string{"Patient"},
		Definition: "https://fhir.junction.nhs.uk/OperationDefinition/Patient-break-glass",
		Do:         s.openBreakGlass})
}

// withBreakGlass gives a practitioner's request the grant they hold.
func (s *Service) withBreakGlass(ctx context.Context, req *Request) error {
	c := req.Caller
	if s.bg == nil || c == nil || c.Kind != access.Practitioner || c.BreakGlass != nil || c.Subject == "" {
		return nil
	}
	g, err := s.bg.active(ctx, c.Subject, s.opts.Now())
	if err != nil || g == nil {
		return err
	}
	cp := *c
	cp.BreakGlass = g
	req.Caller = &cp
	return nil
}

func (s *Service) openBreakGlass(ctx context.Context, req *Request) (*Response, error) {
	c := req.Caller
	if c == nil || c.Kind != access.Practitioner || c.Subject == "" {
		return nil, fhir.Errorf(403, fhir.IssueForbidden, "Break-glass is asserted by a practitioner for themselves")
	}
	p, _, err := ReadParams(req)
	if err != nil {
		return nil, err
	}
	reason, _ := p.String("reason")
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return nil, fhir.Errorf(400, fhir.IssueRequired, "Break-glass needs a reason (parameter \"reason\")")
	}
	if len(reason) > 1000 {
		return nil, fhir.Errorf(400, fhir.IssueValue, "The reason is longer than 1000 characters")
	}
	// The patient must exist; whether the practitioner may see it is what
	// the grant changes, so this read is not filtered.
	v, err := s.store.Read(ctx, "Patient", req.ID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && v.Deleted) {
		return nil, notFound("Patient", req.ID)
	} else if err != nil {
		return nil, err
	}
	now := s.opts.Now().UTC()
	g := access.Grant{TaskID: NewID(), Subject: c.Subject, Patient: req.ID, Reason: reason, Since: now, Until: now.Add(s.bgFor)}
	task, _ := json.Marshal(map[string]any{
		"resourceType": "Task", "id": g.TaskID, "status": "requested", "intent": "order", "priority": "urgent",
		"code":        map[string]any{"coding": []map[string]string{{"system": BreakGlassSystem, "code": BreakGlassTaskCode, "display": "Review of a break-glass access"}}},
		"description": fmt.Sprintf("%s (%s) opened emergency access to this record: %s", c.Name, c.Subject, reason),
		"for":         map[string]string{"reference": "Patient/" + req.ID},
		"authoredOn":  fhir.FormatInstant(now),
		"restriction": map[string]any{"period": map[string]string{"start": fhir.FormatInstant(now), "end": fhir.FormatInstant(g.Until)}},
		"requester":   requester(c),
	})
	obj, err := fhir.ParseObject(task)
	if err != nil {
		return nil, err
	}
	err = s.store.Write(ctx, func(tx store.Tx) error {
		body, err := fhir.Stamp(obj, g.TaskID, 1, tx.Now())
		if err != nil {
			return err
		}
		if _, err := tx.Put(ctx, store.Version{Type: "Task", ID: g.TaskID, Version: 1, LastUpdated: tx.Now(), Body: body}); err != nil {
			return err
		}
		ex, ok := search.Unwrap(tx).(access.Execer)
		if !ok {
			return fmt.Errorf("interaction: transaction %T cannot record a break-glass grant", tx)
		}
		return access.RecordBreakGlass(ctx, ex, g)
	})
	if err != nil {
		return nil, err
	}
	s.bg.forget(c.Subject)
	out, _ := json.Marshal(map[string]any{"resourceType": "Parameters", "parameter": []map[string]any{
		{"name": "patient", "valueReference": map[string]string{"reference": "Patient/" + req.ID}},
		{"name": "until", "valueInstant": fhir.FormatInstant(g.Until)},
		{"name": "review", "valueReference": map[string]string{"reference": "Task/" + g.TaskID}},
	}})
	return &Response{Status: http.StatusOK, Body: out, BreakGlass: breakGlassMark(&access.BreakGlass{Patient: req.ID, Until: g.Until, Reason: reason})}, nil
}

// requester names the caller in a Task.requester.
func requester(c *access.Caller) map[string]any {
	if c.Practitioner != "" {
		return map[string]any{"reference": "Practitioner/" + c.Practitioner, "display": c.Name}
	}
	return map[string]any{"display": c.Name}
}

// breakGlassMark is the Break-Glass response header's value.
func breakGlassMark(g *access.BreakGlass) string {
	return "patient=Patient/" + g.Patient + "; until=" + g.Until.UTC().Format(time.RFC3339)
}

// markBreakGlass marks resp as carrying data the caller's break-glass
// grant opened. A read or vread is marked only when the version it
// returns would be hidden without the grant; anything else that the
// grant widened (searches, history, operations) is marked, since it may
// carry such data.
func (s *Service) markBreakGlass(ctx context.Context, req *Request, resp *Response) error {
	g := req.Caller.BreakGlass
	if (req.Kind == Read || req.Kind == VRead) && resp.Version != nil {
		plain := *req.Caller
		plain.BreakGlass = nil
		a, _ := actionOf(req)
		dec, err := s.opts.Access.Decide(&plain, a)
		if err == nil && dec.Filter != nil {
			sql, args := dec.Filter.SQL("v", req.Type)
			_, err := s.store.ReadWhere(ctx, req.Type, req.ID, resp.Version.Version, &store.Filter{SQL: sql, Args: args})
			if err == nil {
				return nil // visible without the grant
			}
			if !errors.Is(err, store.ErrHidden) {
				return err
			}
		} else if err == nil {
			return nil
		}
	}
	resp.BreakGlass = breakGlassMark(g)
	return nil
}
