package hooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// The hooks served, with the context each defines (CDS Hooks Library:
// cds-hooks.hl7.org/hooks/patient-view/, /order-select/, /order-sign/,
// /encounter-start/). A required field that is absent, or a field of the
// wrong shape, is refused with 400 before any data is read.
const (
	HookPatientView    = "patient-view"
	HookOrderSelect    = "order-select"
	HookOrderSign      = "order-sign"
	HookEncounterStart = "encounter-start"
)

type fieldKind int

const (
	kindUser    fieldKind = iota // "Practitioner/123", "PractitionerRole/…", "Patient/…", "RelatedPerson/…"
	kindID                       // a FHIR id
	kindStrings                  // an array of "Type/id"
	kindBundle                   // a FHIR Bundle of resources
)

type contextField struct {
	name     string
	required bool
	kind     fieldKind
}

var hookContexts = map[string][]contextField{
	HookPatientView: {{"userId", true, kindUser}, {"patientId", true, kindID}, {"encounterId", false, kindID}},
	HookOrderSelect: {{"userId", true, kindUser}, {"patientId", true, kindID}, {"encounterId", false, kindID},
		{"selections", true, kindStrings}, {"draftOrders", true, kindBundle}},
	HookOrderSign: {{"userId", true, kindUser}, {"patientId", true, kindID}, {"encounterId", false, kindID},
		{"draftOrders", true, kindBundle}},
	HookEncounterStart: {{"userId", true, kindUser}, {"patientId", true, kindID}, {"encounterId", true, kindID}},
}

// Hooks lists the hooks this server serves, sorted.
func Hooks() []string {
	var out []string
	for h := range hookContexts {
		out = append(out, h)
	}
	sort.Strings(out)
	return out
}

var (
	idPattern  = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)
	refPattern = regexp.MustCompile(`^([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})$`)
)

// userTypes are the types a hook's userId may name (the hook
// definitions: "Practitioner/123", "PractitionerRole/123", "Patient/123"
// or "RelatedPerson/123").
var userTypes = map[string]string{"Practitioner": "userPractitionerId", "PractitionerRole": "userPractitionerRoleId",
	"Patient": "userPatientId", "RelatedPerson": "userRelatedPersonId"}

// parseContext checks req.Context against the hook's definition and
// returns the Data a service works from (Prefetch still empty).
func parseContext(req *Request) (Data, error) {
	fields, ok := hookContexts[req.Hook]
	if !ok {
		return Data{}, errorf(400, "hook %q is not one this server serves (%s)", clip(req.Hook), strings.Join(Hooks(), ", "))
	}
	d := Data{Hook: req.Hook, Context: req.Context, tokens: map[string]string{}}
	for _, f := range fields {
		raw, present := req.Context[f.name]
		if !present || string(raw) == "null" {
			if f.required {
				return Data{}, errorf(400, "context.%s is required for %s", f.name, req.Hook)
			}
			continue
		}
		switch f.kind {
		case kindID:
			var s string
			if json.Unmarshal(raw, &s) != nil || !idPattern.MatchString(s) {
				return Data{}, errorf(400, "context.%s must be a FHIR resource id", f.name)
			}
			d.tokens["context."+f.name] = s
		case kindUser:
			var s string
			m := []string(nil)
			if json.Unmarshal(raw, &s) == nil {
				m = refPattern.FindStringSubmatch(s)
			}
			if m == nil || userTypes[m[1]] == "" {
				return Data{}, errorf(400, "context.%s must be a relative reference to a Practitioner, PractitionerRole, Patient or RelatedPerson", f.name)
			}
			d.UserID = s
			d.tokens["context."+f.name] = s
			d.tokens[userTypes[m[1]]] = m[2]
		case kindStrings:
			if json.Unmarshal(raw, &d.Selections) != nil || len(d.Selections) == 0 {
				return Data{}, errorf(400, "context.%s must be a non-empty array of references", f.name)
			}
			for _, s := range d.Selections {
				if !refPattern.MatchString(s) {
					return Data{}, errorf(400, "context.%s: %q is not a Type/id reference", f.name, clip(s))
				}
			}
		case kindBundle:
			var b struct {
				ResourceType string
				Entry        []struct{ Resource json.RawMessage }
			}
			if json.Unmarshal(raw, &b) != nil || b.ResourceType != "Bundle" {
				return Data{}, errorf(400, "context.%s must be a FHIR Bundle", f.name)
			}
			for i, e := range b.Entry {
				var head struct{ ResourceType, ID string }
				if json.Unmarshal(e.Resource, &head) != nil || head.ResourceType == "" {
					return Data{}, errorf(400, "context.%s.entry[%d] has no resource", f.name, i)
				}
				d.DraftOrders = append(d.DraftOrders, e.Resource)
			}
		}
	}
	d.PatientID = d.tokens["context.patientId"]
	d.EncounterID = d.tokens["context.encounterId"]
	// The draft orders must be this patient's: a card about another
	// patient's orders would be about the wrong patient.
	for i, o := range d.DraftOrders {
		if err := checkPatient(o, d.PatientID); err != nil {
			return Data{}, errorf(400, "context.draftOrders.entry[%d]: %v", i, err)
		}
	}
	for _, s := range d.Selections {
		if findOrder(d.DraftOrders, s) == nil {
			return Data{}, errorf(400, "context.selections: %s is not among context.draftOrders", clip(s))
		}
	}
	return d, nil
}

// findOrder returns the draft order "Type/id", or nil.
func findOrder(orders []json.RawMessage, ref string) json.RawMessage {
	for _, o := range orders {
		var head struct{ ResourceType, ID string }
		if json.Unmarshal(o, &head) == nil && head.ID != "" && head.ResourceType+"/"+head.ID == ref {
			return o
		}
	}
	return nil
}

var tokenPattern = regexp.MustCompile(`\{\{\s*([A-Za-z.]+)\s*\}\}`)

// fillTemplate replaces the prefetch tokens of a template (CDS Hooks 2.0
// §Prefetch tokens: {{context.X}} for the hook's simple context fields,
// {{userPractitionerId}} and the like for the user). ok is false when a
// token has no value in this call (an optional field absent): such a
// prefetch is left empty, never sent with the token in it.
func fillTemplate(tmpl string, tokens map[string]string) (q string, ok bool) {
	ok = true
	q = tokenPattern.ReplaceAllStringFunc(tmpl, func(m string) string {
		name := tokenPattern.FindStringSubmatch(m)[1]
		v, found := tokens[name]
		if !found {
			ok = false
		}
		return v
	})
	return q, ok
}

// resolvePrefetch fills d.Prefetch for templates: the client's value for
// a key when it gave one (checked to be about this patient), else the
// query run locally through fetch, as the caller ctx carries.
func (h *Handler) resolvePrefetch(ctx context.Context, templates map[string]string, given map[string]json.RawMessage, d *Data) error {
	if d.Prefetch == nil {
		d.Prefetch = map[string]json.RawMessage{}
	}
	for key, tmpl := range templates {
		if got, ok := given[key]; ok && !isNullOrOutcome(got) {
			// Checked, never trusted blindly: prefetched data about
			// another patient would put the wrong patient's data on a
			// card.
			if err := checkPatient(got, d.PatientID); err != nil {
				return errorf(400, "prefetch %q: %v", key, err)
			}
			d.Prefetch[key] = got
			continue
		}
		if _, done := d.Prefetch[key]; done {
			continue
		}
		q, ok := fillTemplate(tmpl, d.tokens)
		if !ok {
			d.Prefetch[key] = nil
			continue
		}
		res, err := h.opts.Fetch(ctx, q)
		if err != nil {
			var e *Error
			if errors.As(err, &e) {
				return err
			}
			// CDS Hooks 2.0 §HTTP Response: 412 when the service cannot
			// obtain the data it needs.
			h.opts.Logger.Warn("CDS prefetch failed", "query", q, "err", err)
			return errorf(412, "the data for prefetch %q could not be read", key)
		}
		d.Prefetch[key] = res
	}
	return nil
}

// checkPatient fails unless every resource in raw (a resource or a
// Bundle) is the patient, or about the patient by subject or patient.
func checkPatient(raw json.RawMessage, patientID string) error {
	var r struct {
		ResourceType string
		ID           string
		Subject      *struct{ Reference string }
		Patient      *struct{ Reference string }
		Entry        []struct{ Resource json.RawMessage }
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("not a FHIR resource")
	}
	switch {
	case r.ResourceType == "Bundle":
		for _, e := range r.Entry {
			if len(e.Resource) == 0 {
				continue
			}
			if err := checkPatient(e.Resource, patientID); err != nil {
				return err
			}
		}
		return nil
	case r.ResourceType == "OperationOutcome":
		return nil
	case r.ResourceType == "Patient":
		if r.ID != patientID {
			return fmt.Errorf("Patient/%s is not context.patientId", clip(r.ID))
		}
		return nil
	}
	ref := ""
	if r.Subject != nil {
		ref = r.Subject.Reference
	} else if r.Patient != nil {
		ref = r.Patient.Reference
	}
	if ref != "Patient/"+patientID && !strings.HasSuffix(ref, "/Patient/"+patientID) {
		return fmt.Errorf("%s/%s is about %q, not Patient/%s", r.ResourceType, clip(r.ID), clip(ref), patientID)
	}
	return nil
}
