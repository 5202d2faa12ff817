package interaction

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/nhs-junction/junction/internal/access"
	"github.com/nhs-junction/junction/internal/audit"
	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/search"
	"github.com/nhs-junction/junction/internal/store"
)

// Every interaction Do carries out is audited (IHE BALP, internal/audit):
// reads, searches, history and operations, successful, failed and
// refused, get their AuditEvents in a store transaction of their own that
// commits before Do returns, so the response is sent only once the access
// is on record; if it cannot be recorded, Do fails with 503 and returns no
// data. A write's AuditEvents are stored in the write's own transaction
// (auditWrites, called by every path that commits resources), so the
// write and its record commit or roll back together; a write that fails
// is recorded afterwards in a transaction of its own. Each AuditEvent is
// queued to the transparency log in the transaction that stores it.

// AuditOptions switch auditing on (Options.Audit).
type AuditOptions struct {
	// Server names this server in every AuditEvent (observer, server
	// agent, source site).
	Server audit.Server
	// DB reads committed rows of the store: the Patient compartments of
	// what a read returned (the access_tag rows internal/access keeps).
	// store/sqlite.Store and store/postgres.Store implement it.
	DB audit.DB
	// Log is the transparency log the AuditEvents are queued to: $proof
	// reads it, and it is notified after each commit. Nil: AuditEvents
	// are still queued (audit.Queue), but $proof answers 503.
	Log *audit.Log
}

// errAuditUnavailable is Do's answer when an access could not be
// recorded: the data is withheld.
func errAuditUnavailable() *fhir.Error {
	e := fhir.Errorf(503, fhir.IssueTransient, "The access could not be recorded in the audit log, so no data is returned; retry shortly")
	e.Header = http.Header{"Retry-After": {"5"}}
	return e
}

// auditRec collects, while one request is carried out, what its
// AuditEvents need beyond the request and the response.
type auditRec struct {
	// inTx is set when the request's AuditEvents were stored in the
	// transaction of its write (auditWrites).
	inTx bool
	// seen are the versions a search, history or operation returned.
	seen []store.Version
	// patients are further Patient ids an operation touched.
	patients []string
}

// noteSeen records versions req returned, for its AuditEvents.
func noteSeen(req *Request, vs ...[]store.Version) {
	if req == nil || req.aud == nil {
		return
	}
	for _, v := range vs {
		req.aud.seen = append(req.aud.seen, v...)
	}
}

// refuseAuditWrite refuses any change to an AuditEvent through the API,
// whoever asks: the audit log is written by the server alone and never
// changed (405, with the methods that remain).
func refuseAuditWrite(req *Request) error {
	if req == nil || req.Type != "AuditEvent" {
		return nil
	}
	switch req.Kind {
	case Create, Update, Patch, Delete:
		e := fhir.Errorf(405, fhir.IssueNotSupported, "AuditEvents are written by the server only and can never be created, changed or deleted through the API")
		e.Header = http.Header{"Allow": {"GET, HEAD"}}
		return e
	}
	return nil
}

// audited carries out req and records it (see the note at the top).
func (s *Service) audited(ctx context.Context, req *Request) (*Response, error) {
	rec := &auditRec{}
	req.aud = rec
	resp, err := s.do(ctx, req)
	if rec.inTx && err == nil {
		return resp, nil
	}
	if req.Kind == Capabilities && req.Caller == nil {
		// The CapabilityStatement read anonymously holds no patient data;
		// recording it would let anyone fill the log for nothing.
		return resp, err
	}
	entries, aerr := s.auditEntries(ctx, req, resp, err)
	if aerr == nil {
		aerr = s.auditStore(ctx, entries)
	}
	if aerr != nil {
		return nil, errAuditUnavailable()
	}
	return resp, err
}

// auditEntry fills what every AuditEvent of req records: who, from
// where, when, why, the request id and the interaction.
func (s *Service) auditEntry(ctx context.Context, req *Request) audit.Entry {
	e := audit.Entry{Interaction: auditInteraction(req.Kind), Time: s.opts.Now(), RequestID: RequestIDFrom(ctx), Server: s.audit.Server}
	if req.Kind == Operation {
		e.Operation = "$" + strings.TrimPrefix(req.Operation, "$")
	}
	if c := req.Caller; c != nil {
		e.Kind, e.Subject, e.Name, e.ClientID = string(c.Kind), c.Subject, c.Name, c.ClientID
		e.Organization, e.Roles, e.Practitioner = c.Organization, c.Roles, c.Practitioner
		e.Remote, e.Address, e.Purpose = c.Remote, c.Address, c.Purpose
		if c.Kind == access.PatientUser && len(c.Patients) > 0 {
			e.Patient = c.Patients[0]
		}
		if c.BreakGlass != nil && (req.dec == nil || req.dec.BreakGlass) {
			// A refused assertion is flagged too: an attempt at emergency
			// access is what a privacy officer most needs to see.
			e.BreakGlass = c.BreakGlass.Reason
			if e.BreakGlass == "" {
				e.BreakGlass = "break-glass asserted without a reason"
			}
		}
	}
	if req.dec != nil && req.dec.Purpose != "" {
		e.Purpose = req.dec.Purpose
	}
	switch req.Kind {
	case SearchType, SearchSystem, SearchCompartment, HistoryType, HistorySystem, HistoryInstance, Operation:
		e.Query = rawQuery(req)
	}
	return e
}

// auditInteraction maps an interaction kind to its BALP code.
func auditInteraction(k Kind) audit.Interaction {
	if k == SearchCompartment {
		return audit.SearchCompartment
	}
	return audit.Interaction(k)
}

// rawQuery renders req as the request line a client sent, e.g.
// "GET Observation?patient=1" (relative to the base).
func rawQuery(req *Request) string {
	var b strings.Builder
	b.WriteString(req.Method)
	b.WriteByte(' ')
	path := []string{}
	for _, p := range []string{req.Type, req.ID} {
		if p != "" {
			path = append(path, p)
		}
	}
	switch req.Kind {
	case SearchCompartment:
		path = append(path, req.Compartment)
	case HistoryType, HistorySystem, HistoryInstance:
		path = append(path, "_history")
	case Operation:
		path = append(path, "$"+strings.TrimPrefix(req.Operation, "$"))
	}
	b.WriteString(strings.Join(path, "/"))
	if len(req.Query) > 0 {
		b.WriteByte('?')
		b.WriteString(req.Query.Encode())
	}
	return b.String()
}

// auditEntries builds the AuditEvents of an interaction carried out
// outside a write transaction (or whose write failed): one per patient
// touched, each naming that patient and what of theirs was seen.
func (s *Service) auditEntries(ctx context.Context, req *Request, resp *Response, err error) ([]audit.Entry, error) {
	base := s.auditEntry(ctx, req)
	status := 0
	if err != nil {
		var fe *fhir.Error
		if errors.As(err, &fe) {
			status = fe.Status
			if len(fe.Issues) > 0 {
				base.OutcomeDesc = fe.Issues[0].Diagnostics
			}
		} else {
			status = 500
			base.OutcomeDesc = "internal server error"
		}
	} else if resp != nil {
		status = resp.Status
	}
	base.Outcome = audit.OutcomeForStatus(status)

	// What was touched: the version read, or every version returned.
	var seen []store.Version
	if resp != nil && resp.Version != nil && err == nil {
		seen = append(seen, *resp.Version)
	}
	if req.aud != nil && err == nil {
		seen = append(seen, req.aud.seen...)
	}
	byPatient, err2 := s.patientsOf(ctx, nil, seen)
	if err2 != nil {
		return nil, err2
	}
	var extra []string
	if a, ok := actionOf(req); ok && a.Patient != "" {
		extra = append(extra, a.Patient)
	}
	if req.aud != nil {
		extra = append(extra, req.aud.patients...)
	}
	if err != nil && len(seen) == 0 && req.Type != "" && req.ID != "" && req.Type != "Patient" {
		// A refused or failed access to one resource is still an access
		// attempt on its patient's record: find the patient from the
		// current version's compartments.
		ps, lerr := s.currentPatients(ctx, req.Type, req.ID)
		if lerr != nil {
			return nil, lerr
		}
		extra = append(extra, ps...)
	}
	ref := func(v store.Version) string {
		if req.Kind == VRead || req.Kind == Read {
			return v.Type + "/" + v.ID + "/_history/" + strconv.FormatInt(v.Version, 10)
		}
		return v.Type + "/" + v.ID
	}
	if len(seen) == 0 && req.Type != "" && req.ID != "" && req.Kind != Operation {
		r := req.Type + "/" + req.ID
		if req.VersionID != "" {
			r += "/_history/" + req.VersionID
		}
		base.Resources = []string{r}
	}
	return splitByPatient(base, seen, byPatient, extra, ref, req), nil
}

// splitByPatient makes one entry per patient (BALP: "one AuditEvent is
// created for every Patient identified"), each listing the resources of
// that patient that were seen; resources in no compartment go to an
// entry without a patient. extra patients get an entry even when none of
// their resources was seen.
func splitByPatient(base audit.Entry, seen []store.Version, byPatient map[int64][]string, extra []string, ref func(store.Version) string, req *Request) []audit.Entry {
	resources := map[string][]string{} // patient ("" none) -> references
	var order []string
	add := func(p, r string) {
		if _, ok := resources[p]; !ok {
			order = append(order, p)
			resources[p] = nil
		}
		if r != "" && !slices.Contains(resources[p], r) {
			resources[p] = append(resources[p], r)
		}
	}
	for _, v := range seen {
		ps := byPatient[v.Seq]
		if len(ps) == 0 {
			add("", ref(v))
		}
		for _, p := range ps {
			add(p, ref(v))
		}
	}
	for _, p := range extra {
		add(p, "")
	}
	if len(order) == 0 {
		return []audit.Entry{base}
	}
	if len(order) > 1 {
		// A search that found only patients' data has no entry without a
		// patient; one that found nothing of any patient has only that.
		if i := slices.Index(order, ""); i >= 0 && len(resources[""]) == 0 {
			order = slices.Delete(order, i, i+1)
		}
	}
	out := make([]audit.Entry, 0, len(order))
	for _, p := range order {
		e := base
		if len(resources[p]) > 0 {
			e.Resources = resources[p]
		}
		if p != "" {
			e.Patients = []string{p}
			e.BreakGlass = breakGlassFor(base.BreakGlass, req, p)
			if e.BreakGlass == "" && e.Purpose == "BTG" {
				e.Purpose = "TREAT" // break-glass covers its own patient only
			}
		}
		out = append(out, e)
	}
	return out
}

// breakGlassFor keeps the break-glass flag on an entry for patient p
// only when the emergency access was opened for p (or names no patient).
func breakGlassFor(reason string, req *Request, p string) string {
	if reason == "" || req.Caller == nil || req.Caller.BreakGlass == nil {
		return reason
	}
	if bg := req.Caller.BreakGlass.Patient; bg != "" && bg != p {
		return ""
	}
	return reason
}

// patientsOf returns the Patient compartments of versions, by seq, from
// the access tags stored with them (internal/access: the same
// compartments the access rules judge by). It reads inside ex's
// transaction when ex is not nil, else from committed data.
func (s *Service) patientsOf(ctx context.Context, ex audit.Execer, vs []store.Version) (map[int64][]string, error) {
	out := map[int64][]string{}
	var seqs []any
	for _, v := range vs {
		if v.Type == "Patient" {
			out[v.Seq] = []string{v.ID}
			continue
		}
		if v.Seq > 0 {
			seqs = append(seqs, v.Seq)
		}
	}
	if len(seqs) == 0 {
		return out, nil
	}
	query := s.audit.DB.QueryShared
	if ex != nil {
		query = ex.QueryShared
	}
	const chunk = 500
	for i := 0; i < len(seqs); i += chunk {
		part := seqs[i:min(i+chunk, len(seqs))]
		q := "SELECT seq, value FROM access_tag WHERE kind = 'p' AND seq IN (?" + strings.Repeat(", ?", len(part)-1) + ")"
		err := query(ctx, q, part, func(scan func(...any) error) error {
			var seq int64
			var p string
			if err := scan(&seq, &p); err != nil {
				return err
			}
			out[seq] = append(out[seq], p)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	for _, ps := range out {
		sort.Strings(ps)
	}
	return out, nil
}

// currentPatients returns the Patient compartments of the current
// version of typ/id (none when it does not exist).
func (s *Service) currentPatients(ctx context.Context, typ, id string) ([]string, error) {
	var out []string
	err := s.audit.DB.QueryShared(ctx, "SELECT t.value FROM resource r JOIN access_tag t ON t.seq = r.seq AND t.kind = 'p' WHERE r.type = ? AND r.id = ?",
		[]any{typ, id}, func(scan func(...any) error) error {
			var p string
			if err := scan(&p); err != nil {
				return err
			}
			out = append(out, p)
			return nil
		})
	return out, err
}

// auditStore stores the AuditEvents of entries in a transaction of their
// own and queues them to the log; it returns once they are durable.
func (s *Service) auditStore(ctx context.Context, entries []audit.Entry) error {
	if len(entries) == 0 {
		return nil
	}
	err := s.store.Write(ctx, func(tx store.Tx) error {
		return s.putAuditEvents(ctx, tx, entries)
	})
	if err != nil {
		return err
	}
	if s.audit.Log != nil {
		s.audit.Log.Notify()
	}
	return nil
}

// putAuditEvents stores one AuditEvent per entry and patient in tx and
// queues each to the transparency log in the same transaction.
func (s *Service) putAuditEvents(ctx context.Context, tx store.Tx, entries []audit.Entry) error {
	now := tx.Now()
	for _, e := range entries {
		for _, raw := range audit.Events(e) {
			obj, err := fhir.ParseObject(raw)
			if err != nil {
				return err
			}
			id := NewID()
			body, err := fhir.Stamp(obj, id, 1, now)
			if err != nil {
				return err
			}
			v, err := tx.Put(ctx, store.Version{Type: "AuditEvent", ID: id, Version: 1, LastUpdated: now, Body: body})
			if err != nil {
				return err
			}
			if err := audit.Queue(ctx, search.Unwrap(tx), v); err != nil {
				return err
			}
		}
	}
	return nil
}

// auditWrite is one resource change a write made: the interaction and
// the version stored (nil when nothing was, e.g. deleting what did not
// exist), or the target when nothing was stored.
type auditWrite struct {
	kind     Kind
	typ, id  string
	v        *store.Version
	patients []string // further patients the write concerns
}

// auditWrites records, inside the write's transaction tx, the
// AuditEvents of the writes req made: one per write and patient, with
// the version written and the patients of its compartments as stored in
// tx. outer, when set, adds an event for the request as a whole (a
// transaction Bundle, an operation). It marks req as audited, so Do does
// not record it again. Call it last in the function passed to
// store.Write, after every Put.
func (s *Service) auditWrites(ctx context.Context, tx store.Tx, req *Request, writes []auditWrite, outer bool) error {
	if s.audit == nil || req == nil || req.aud == nil {
		return nil
	}
	ex, ok := search.Unwrap(tx).(audit.Execer)
	if !ok {
		return errors.New("interaction: the store's transactions cannot record AuditEvents")
	}
	var vs []store.Version
	for _, w := range writes {
		if w.v != nil {
			vs = append(vs, *w.v)
		}
	}
	byPatient, err := s.patientsOf(ctx, ex, vs)
	if err != nil {
		return err
	}
	base := s.auditEntry(ctx, req)
	base.Outcome = audit.Success
	var entries []audit.Entry
	var all []store.Version
	for _, w := range writes {
		e := base
		e.Interaction, e.Operation, e.Query = auditInteraction(w.kind), "", ""
		var seen []store.Version
		if w.v != nil {
			seen = []store.Version{*w.v}
			all = append(all, *w.v)
		} else {
			e.Resources = []string{w.typ + "/" + w.id}
		}
		ref := func(v store.Version) string {
			return v.Type + "/" + v.ID + "/_history/" + strconv.FormatInt(v.Version, 10)
		}
		entries = append(entries, splitByPatient(e, seen, byPatient, w.patients, ref, req)...)
	}
	if outer {
		var extra []string
		if a, ok := actionOf(req); ok && a.Patient != "" {
			extra = append(extra, a.Patient)
		}
		extra = append(extra, req.aud.patients...)
		ref := func(v store.Version) string { return v.Type + "/" + v.ID }
		entries = append(entries, splitByPatient(base, all, byPatient, extra, ref, req)...)
	}
	if err := s.putAuditEvents(ctx, tx, entries); err != nil {
		return err
	}
	req.aud.inTx = true
	return nil
}

// auditNotify wakes the log's integrator after a write that stored
// AuditEvents committed.
func (s *Service) auditNotify(req *Request) {
	if s.audit != nil && s.audit.Log != nil && req != nil && req.aud != nil && req.aud.inTx {
		s.audit.Log.Notify()
	}
}

type requestIDKey struct{}

// WithRequestID returns ctx carrying the request's id (X-Request-ID),
// which AuditEvents record (BALP entity XrequestId).
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestIDFrom returns the request id ctx carries, or "".
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// opWrites lists what applied write operations stored, for auditWrites.
func opWrites(ops []*writeOp) []auditWrite {
	out := make([]auditWrite, 0, len(ops))
	for _, o := range ops {
		out = append(out, auditWrite{kind: o.req.Kind, typ: o.typ, id: o.id, v: o.out})
	}
	return out
}

// auditLoad records, inside a bulk load's transaction, what it stored:
// one update AuditEvent per patient listing that patient's resources
// (and one for resources in no patient's compartment), rather than one
// per resource, which would double the cost of an import.
func (s *Service) auditLoad(ctx context.Context, tx store.Tx, reqs []*Request, out []*store.Version) error {
	if s.audit == nil {
		return nil
	}
	var vs []store.Version
	var first *Request
	for i, v := range out {
		if v != nil {
			vs = append(vs, *v)
			if first == nil {
				first = reqs[i]
			}
		}
	}
	if first == nil {
		return nil
	}
	ex, ok := search.Unwrap(tx).(audit.Execer)
	if !ok {
		return errors.New("interaction: the store's transactions cannot record AuditEvents")
	}
	byPatient, err := s.patientsOf(ctx, ex, vs)
	if err != nil {
		return err
	}
	req := &Request{Kind: Update, Caller: first.Caller}
	base := s.auditEntry(ctx, req)
	base.Outcome = audit.Success
	ref := func(v store.Version) string {
		return v.Type + "/" + v.ID + "/_history/" + strconv.FormatInt(v.Version, 10)
	}
	return s.putAuditEvents(ctx, tx, splitByPatient(base, vs, byPatient, nil, ref, req))
}
