package interaction

import (
	"context"
	"errors"
	"strings"

	"github.com/nhs-junction/junction/internal/access"
	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/search"
	"github.com/nhs-junction/junction/internal/store"
)

// The access decision is made once per request (and once per entry of a
// batch or transaction) in decide, and what it allows reaches the data
// only as a condition inside the store's statements: reads and vreads
// (store.ReadWhere), history (HistoryQuery.Where), every search statement
// (search.Options.Where), and each write, whose current version must be
// visible before it is changed and whose new version must be visible
// after (Tx.Visible), in the same transaction. A hidden resource is
// indistinguishable from a missing one, except that staff without a care
// relationship are told so (403), as the decision says.

// actionOf maps an interaction request to the action the decision is
// asked about; ok is false for the kinds decided otherwise (the
// CapabilityStatement; batch and transaction bundles, decided entry by
// entry).
func actionOf(req *Request) (a access.Action, ok bool) {
	a = access.Action{Type: req.Type, ID: req.ID}
	switch req.Kind {
	case Read:
		a.Interaction = access.Read
	case VRead:
		a.Interaction = access.VRead
	case Create:
		a.Interaction = access.Create
	case Update:
		a.Interaction = access.Update
	case Patch:
		a.Interaction = access.Patch
	case Delete:
		a.Interaction = access.Delete
	case HistoryInstance:
		a.Interaction = access.HistoryInstance
	case HistoryType:
		a.Interaction = access.HistoryType
	case HistorySystem:
		a.Interaction = access.HistorySystem
	case SearchType, SearchSystem:
		a.Interaction = access.Search
	case SearchCompartment:
		a = access.Action{Interaction: access.Search, Type: req.Compartment}
		if req.Type == "Patient" {
			a.Patient = req.ID
		}
	case Operation:
		a.Interaction, a.Operation = access.Operation, req.Operation
	default:
		return a, false
	}
	if req.Type == "Patient" && req.ID != "" {
		a.Patient = req.ID
	}
	return a, true
}

// decide asks the access decision about req and keeps the answer on it.
func (s *Service) decide(req *Request) error {
	a, ok := actionOf(req)
	if !ok {
		return nil
	}
	dec, err := s.opts.Access.Decide(req.Caller, a)
	if err != nil {
		return err
	}
	req.dec = &dec
	return nil
}

// where renders req's access filter for the store, over versions of typ
// ("" for any type); nil when the caller is unrestricted.
func (s *Service) where(req *Request, typ string) *store.Filter {
	if req == nil || req.dec == nil || req.dec.Filter == nil {
		return nil
	}
	sql, args := req.dec.Filter.SQL("v", typ)
	return &store.Filter{SQL: sql, Args: args}
}

// searchWhere renders req's access filter as the search engine's
// restriction, for every alias and type a search statement reads, ANDed
// with extra (nil: none); nil when neither restricts.
func (s *Service) searchWhere(req *Request, extra search.Restriction) search.Restriction {
	if req == nil || req.dec == nil || req.dec.Filter == nil {
		return extra
	}
	f := req.dec.Filter
	return func(alias string, types []string) *search.Condition {
		typ := ""
		if len(types) == 1 {
			typ = types[0]
		}
		sql, args := f.SQL(alias, typ)
		c := &search.Condition{SQL: sql, Args: args}
		if extra != nil {
			c = search.And(c, extra(alias, types))
		}
		return c
	}
}

// hidden is the answer for a resource that exists but that req's caller
// may not see: 403 naming the missing care relationship where the rule
// binds the caller, otherwise the same 404 as for a missing resource.
func hidden(req *Request, typ, id string) error {
	if req.dec != nil && req.dec.NoRelationship != nil {
		return req.dec.NoRelationship
	}
	return notFound(typ, id)
}

// redacts reports whether restricted patients' withheld demographics
// must be taken out of what req returns.
func redacts(req *Request) bool {
	return req == nil || req.dec == nil || req.dec.RedactRestricted
}

// checkVisible fails a write whose version seq the caller may not see.
// before tells the current version (the write would change what the
// caller may not see: 403 or 404 as for a read) from the new one (the
// caller would store what they could not read back: 403).
func (s *Service) checkVisible(ctx context.Context, tx store.Tx, req *Request, v store.Version, before bool) error {
	f := s.where(req, v.Type)
	if f == nil {
		return nil
	}
	ok, err := tx.Visible(ctx, v.Seq, f)
	if err != nil || ok {
		return err
	}
	if before {
		return hidden(req, v.Type, v.ID)
	}
	return fhir.Errorf(403, fhir.IssueForbidden, "You may not store this %s: your access would not let you read it back (care relationship, consent or confidentiality)", v.Type)
}

// readVisible reads one version under req's access filter (version 0:
// the current one).
func (s *Service) readVisible(ctx context.Context, req *Request, typ, id string, version int64) (store.Version, error) {
	v, err := s.store.ReadWhere(ctx, typ, id, version, s.where(req, typ))
	if errors.Is(err, store.ErrHidden) {
		return v, hidden(req, typ, id)
	}
	return v, err
}

// withheldNote is the outcome entry of a search or $everything over one
// patient's record when the caller's access hid some of it: withheld data
// is flagged, never silently dropped.
func withheldNote(patient string) fhir.Issue {
	return fhir.Issue{Severity: fhir.SeverityWarning, Code: fhir.IssueSuppressed,
		Diagnostics: "Some of Patient/" + patient + "'s record that matches is withheld from you (care relationship, consent or confidentiality)"}
}

// forPatient prepares req, a search of one patient's record, by asking
// once whether the caller passes the rules that bind that patient as a
// whole (care relationship, consent, opt-out). When they pass, the filter
// no longer asks them again for every candidate resource (Filter.Passed);
// when they do not, each resource is still judged as before, and the
// answer tells withheld that the record is withheld.
func (s *Service) forPatient(ctx context.Context, req *Request, patient string) (passes bool, err error) {
	if patient == "" || req.dec == nil || req.dec.Filter == nil || s.tables == nil {
		return true, nil
	}
	cond, args := req.dec.Filter.PatientSQL(patient)
	if cond == "1=1" {
		return true, nil
	}
	if passes, err = s.exists(ctx, "SELECT 1 WHERE "+cond, args); err != nil || !passes {
		return passes, err
	}
	req.dec.Filter = req.dec.Filter.Passed(patient)
	return true, nil
}

// exists reports whether query (in the shared SQL) returns a row.
func (s *Service) exists(ctx context.Context, query string, args []any) (bool, error) {
	found := false
	err := s.tables.QueryShared(ctx, query+" LIMIT 1", args, func(scan func(dest ...any) error) error {
		found = true
		var one int
		return scan(&one)
	})
	return found, err
}

// withheld reports whether patient's record holds a current resource of
// one of types (any type when empty) that req's access filter hides;
// passes is forPatient's answer. When the caller fails the rules that
// bind the patient as a whole, the record is withheld if it holds such a
// resource at all; otherwise only resources carrying a confidentiality
// label can be hidden, and the filter runs over those alone.
func (s *Service) withheld(ctx context.Context, req *Request, patient string, types []string, passes bool) (bool, error) {
	if s.tables == nil || patient == "" || req.dec == nil || req.dec.Filter == nil {
		return false, nil
	}
	inTypes := ""
	var typeArgs []any
	if len(types) > 0 {
		inTypes = " AND v.type IN (?" + strings.Repeat(", ?", len(types)-1) + ")"
		for _, t := range types {
			typeArgs = append(typeArgs, t)
		}
	}
	if !passes {
		return s.exists(ctx, "SELECT 1 FROM access_tag t JOIN resource r ON r.seq = t.seq JOIN resource_version v ON v.seq = t.seq WHERE t.kind = 'p' AND t.value = ? AND NOT r.deleted"+inTypes,
			append([]any{patient}, typeArgs...))
	}
	typ := ""
	if len(types) == 1 {
		typ = types[0]
	}
	cond, args := req.dec.Filter.SQL("v", typ)
	labelled := "SELECT 1 FROM access_tag t JOIN access_tag l ON l.seq = t.seq AND l.kind = 'l' JOIN resource r ON r.seq = t.seq JOIN resource_version v ON v.seq = t.seq WHERE t.kind = 'p' AND t.value = ? AND NOT r.deleted" + inTypes + " AND NOT (" + cond + ")"
	return s.exists(ctx, labelled, append(append([]any{patient}, typeArgs...), args...))
}

// searchedPatient is the one Patient a search is about, when it names
// one: a Patient compartment search, or a patient or subject parameter
// with a single Patient reference.
func searchedPatient(req *Request) string {
	if req.Kind == SearchCompartment && req.Type == "Patient" {
		return req.ID
	}
	for _, name := range []string{"patient", "subject", "subject:Patient"} {
		vs := req.Query[name]
		if len(vs) != 1 || strings.Contains(vs[0], ",") {
			continue
		}
		id := strings.TrimPrefix(vs[0], "Patient/")
		if name == "subject" && !strings.HasPrefix(vs[0], "Patient/") {
			continue
		}
		if fhir.ValidID(id) {
			return id
		}
	}
	return ""
}
