package fhirmap

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/nhs-junction/junction/internal/hl7v2"
)

// Kind is what a message does.
type Kind int

// Message kinds.
const (
	// KindADT updates a patient and, for visit events, an encounter.
	KindADT Kind = iota + 1
	// KindMerge merges two patients (A34, A40).
	KindMerge
	// KindResult records results (ORU^R01) for a patient already known.
	KindResult
)

// adtEvents are the ADT trigger events mapped, with whether they concern
// a visit (and so an Encounter).
var adtEvents = map[string]bool{
	"A01": true, "A02": true, "A03": true, "A04": true, "A05": true, "A06": true, "A07": true,
	"A08": true, "A11": true, "A12": true, "A13": true, "A28": false, "A31": false,
}

// Plan is a message read and checked, with the identifiers its resources
// are found by. The caller looks them up and passes what it found to Build.
type Plan struct {
	Kind  Kind
	Event string // MSH-9.2 trigger event
	// Facility is the sending facility (MSH-4.1) the mapping rules were
	// chosen by.
	Facility string
	// NHSNumber is the patient's NHS number when the message carries a
	// valid one.
	NHSNumber string
	// Patient lists the identifiers the patient is found by: the NHS
	// number first, then local identifiers. Look the patient up by any
	// of them (one search, identifier=a,b,...): finding two different
	// patients is a conflict the caller reports (HL7 205).
	Patient []Identifier
	// Visit is the visit number (PV1-19) the encounter is found by, when
	// the message concerns a visit.
	Visit *Identifier
	// Orders are the placer and filler order numbers of an ORU. System
	// is empty unless the mapping file names OrderSystem; look each up as
	// a ServiceRequest identifier.
	Orders []Identifier
	// MergeFrom identifies the patient merged away (MRG-1) in a merge.
	MergeFrom []Identifier

	msg       *hl7v2.Message
	fac       Facility
	pid       *hl7v2.Segment
	ids       patientIDs
	when      hl7Time // EVN-2, else MSH-7
	hasWhen   bool
	controlID string
}

// Found is a stored resource the caller looked up.
type Found struct {
	ID      string
	Version int64
	Body    []byte // the resource JSON as stored
}

// Existing is what the caller found for a Plan's identifiers (nil where
// nothing was found).
type Existing struct {
	Patient     *Found
	Encounter   *Found
	MergeSource *Found
	// Orders maps an order number (Identifier.Value) to the id of the one
	// ServiceRequest that carries it.
	Orders map[string]string
	// Taken lists, as Type/id, ids derived from the message (see
	// Result.Created) that a stored resource already has although the
	// lookup did not find it by its identifiers (a patient merged away, an
	// encounter whose visit number was changed). Build gives a resource it
	// would create under such an id a random id instead.
	Taken map[string]bool
}

// Result is what Build produces.
type Result struct {
	// Bundle is a FHIR transaction Bundle (JSON), or nil when the message
	// is a merge of two known patients.
	Bundle []byte
	// Merge, when set, asks for Patient $merge of SourceID into TargetID.
	Merge *Merge
	// Notes say what the mapping left out, for the message store.
	Notes []string
	// Created lists, as Type/id, the resources the Bundle creates: those
	// the lookup did not find, each PUT under an id derived from its
	// identifiers (the first of Plan.Patient, the visit number), without
	// a condition. The caller MUST check inside the applying transaction
	// that each is at version 1 (it did not exist before): a resource
	// under that id that existed, or that a concurrent message created
	// first, would otherwise be overwritten with content built without
	// it. On a failed check, look up again (and mark the id Taken when
	// the lookup still finds nothing) and Build again.
	Created []string
	// Patient is the Patient the Bundle writes (Type/id), empty when it
	// writes none (results, a merge of two known patients). The caller
	// MUST check inside the applying transaction that no other current
	// patient carries one of Plan.Patient's identifiers, which is what
	// keeps two messages for one new patient, sent at once and naming
	// it by different identifiers, from creating two patients.
	Patient string
}

// Merge is a Patient $merge to run.
type Merge struct {
	SourceID, TargetID string
}

// Prepare reads a parsed message, checks that it is a mapped type with
// what the mapping needs, and returns its Plan. Errors are *Error.
func Prepare(m *hl7v2.Message, cfg *Config) (*Plan, error) {
	if cfg == nil {
		cfg = DefaultConfig()
	}
	typ, ev := strings.ToUpper(m.Type()), strings.ToUpper(m.Trigger())
	p := &Plan{Event: ev, msg: m, Facility: m.SendingFacility(), controlID: m.ControlID()}
	p.fac = cfg.facility(p.Facility)
	switch {
	case typ == "ADT" && (ev == "A34" || ev == "A40"):
		p.Kind = KindMerge
	case typ == "ADT":
		if _, ok := adtEvents[ev]; !ok {
			return nil, errAt("MSH", 1, 9, 1, 2, CodeUnsupportedEvent, "ADT^%s is not mapped (mapped: A01-A08, A11-A13, A28, A31, A34, A40)", clip(ev))
		}
		p.Kind = KindADT
	case typ == "ORU" && ev == "R01":
		p.Kind = KindResult
	case typ == "ORU":
		return nil, errAt("MSH", 1, 9, 1, 2, CodeUnsupportedEvent, "ORU^%s is not mapped (mapped: ORU^R01)", clip(ev))
	default:
		return nil, errAt("MSH", 1, 9, 1, 1, CodeUnsupportedType, "message type %q is not mapped (mapped: ADT, ORU)", clip(typ))
	}
	if t, ok, _ := fieldTS(m.MSH(), 1, 7); ok {
		p.when, p.hasWhen = t, true
	}
	if evn := m.Segment("EVN"); evn != nil {
		if t, ok, _ := fieldTS(evn, 1, 2); ok {
			p.when, p.hasWhen = t, true
		}
	}
	p.pid = m.Segment("PID")
	if p.pid == nil {
		return nil, errAt("PID", 1, 0, 0, 0, CodeSegmentSequence, "the message has no PID segment")
	}
	if p.Kind == KindMerge && len(m.All("PID")) > 1 {
		return nil, errAt("PID", 2, 0, 0, 0, CodeSegmentSequence, "one merge per message is mapped; this message has %d PID/MRG groups", len(m.All("PID")))
	}
	ids, err := readPatientIDs(p.pid, 1, p.fac, p.Facility)
	if err != nil {
		return nil, err
	}
	p.ids, p.NHSNumber, p.Patient = ids, ids.nhs, ids.keys()
	if len(p.Patient) == 0 {
		return nil, errAt("PID", 1, 3, 1, 1, CodeRequiredMissing, "the patient has no identifier (no NHS number, no local identifier in PID-2, PID-3 or PID-4)")
	}
	switch p.Kind {
	case KindMerge:
		mrg := m.Segment("MRG")
		if mrg == nil {
			return nil, errAt("MRG", 1, 0, 0, 0, CodeSegmentSequence, "a merge needs an MRG segment")
		}
		from, err := mergeIDs(mrg, p.fac, p.Facility)
		if err != nil {
			return nil, err
		}
		if len(from) == 0 {
			return nil, errAt("MRG", 1, 1, 1, 1, CodeRequiredMissing, "MRG-1 names no prior patient identifier")
		}
		p.MergeFrom = from
	case KindADT:
		if adtEvents[ev] {
			if pv1 := m.Segment("PV1"); pv1 != nil {
				if v := comp(pv1.Field(19).Rep(1), 1); v != "" {
					p.Visit = &Identifier{System: p.visitSystem(), Value: v}
				}
			}
			if p.Visit == nil && (ev == "A11" || ev == "A12" || ev == "A13") {
				return nil, errAt("PV1", 1, 19, 1, 1, CodeRequiredMissing, "ADT^%s cancels a visit event, so PV1-19 (visit number) must name the visit", ev)
			}
		}
	case KindResult:
		if len(m.All("OBR")) == 0 {
			return nil, errAt("OBR", 1, 0, 0, 0, CodeSegmentSequence, "ORU^R01 without an OBR segment")
		}
		if pv1 := m.Segment("PV1"); pv1 != nil {
			if v := comp(pv1.Field(19).Rep(1), 1); v != "" {
				p.Visit = &Identifier{System: p.visitSystem(), Value: v}
			}
		}
		p.Orders = orderKeys(m, p.fac)
	}
	return p, nil
}

func (p *Plan) visitSystem() string {
	if p.fac.VisitSystem != "" {
		return p.fac.VisitSystem
	}
	return LocalSystem(p.Facility, "visit")
}

// mergeIDs reads MRG-1 (prior patient identifier list) and MRG-2 (prior
// alternate id), NHS numbers included.
func mergeIDs(mrg *hl7v2.Segment, f Facility, facility string) ([]Identifier, error) {
	var out []Identifier
	for _, field := range []int{1, 2} {
		for i, r := range mrg.Field(field).Reps() {
			v, auth, typ := comp(r, 1), strings.TrimSpace(r.Component(4).Sub(1)), comp(r, 5)
			if v == "" {
				continue
			}
			isNHS := false
			for _, rule := range append(append([]IdentifierRule(nil), builtinNHS...), f.NHSNumber...) {
				isNHS = isNHS || rule.matches(auth, typ)
			}
			if isNHS {
				if !validNHS(v) {
					return nil, errAt("MRG", 1, field, i+1, 1, CodeDataType, "NHS number %q is not valid", clip(v))
				}
				out = append(out, Identifier{NHSNumberSystem, v})
				continue
			}
			out = append(out, Identifier{f.mrnSystem(facility, auth, typ), v})
		}
	}
	return out, nil
}

// Build maps the message over what the caller found and returns the
// transaction Bundle (or the merge) to apply. Errors are *Error.
func (p *Plan) Build(ex Existing) (*Result, error) {
	switch p.Kind {
	case KindResult:
		return p.buildResult(ex)
	case KindMerge:
		return p.buildMerge(ex)
	}
	return p.buildADT(ex)
}

// bundle accumulates transaction entries.
type bundle struct {
	entries []any
}

type entryReq struct {
	Method  string `json:"method"`
	URL     string `json:"url"`
	IfMatch string `json:"ifMatch,omitempty"`
}

func (b *bundle) add(fullURL string, res map[string]any, req entryReq) {
	e := map[string]any{"resource": res, "request": req}
	if fullURL != "" {
		e["fullUrl"] = fullURL
	}
	b.entries = append(b.entries, e)
}

func (b *bundle) json() ([]byte, error) {
	return json.Marshal(map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": b.entries})
}

// putPatient adds the Patient entry and returns the reference other
// resources use for it.
func (p *Plan) putPatient(b *bundle, res *Result, found *Found, taken map[string]bool) (string, error) {
	var prior map[string]any
	if found != nil {
		if err := json.Unmarshal(found.Body, &prior); err != nil {
			return "", errAt("PID", 1, 0, 0, 0, CodeInternal, "the stored Patient/%s cannot be read", found.ID)
		}
	}
	pat, err := patientResource(p.msg, p.pid, 1, p.ids, p.fac, p.Facility, prior)
	if err != nil {
		return "", err
	}
	if found != nil {
		pat["id"] = found.ID
		b.add("", pat, entryReq{Method: "PUT", URL: "Patient/" + found.ID, IfMatch: fmt.Sprintf(`W/"%d"`, found.Version)})
		res.Patient = "Patient/" + found.ID
		return res.Patient, nil
	}
	// A new patient gets an id derived from its first identifier (the NHS
	// number when there is one), so a plain PUT creates it and no
	// conditional update (with its process-wide lock) is needed; the
	// caller's checks of Result.Created and Result.Patient inside the
	// transaction stand in for the condition.
	id := newID(taken, "Patient", stableID("Patient", p.Patient[0].System, p.Patient[0].Value))
	pat["id"] = id
	b.add("", pat, entryReq{Method: "PUT", URL: "Patient/" + id})
	res.Patient = "Patient/" + id
	res.Created = append(res.Created, res.Patient)
	return res.Patient, nil
}

// newID is id unless taken lists typ/id, else a random id.
func newID(taken map[string]bool, typ, id string) string {
	if !taken[typ+"/"+id] {
		return id
	}
	var b [20]byte
	_, _ = rand.Read(b[:])
	return "hl7-" + hex.EncodeToString(b[:])
}

// stableID is a resource id derived from what identifies the resource in
// the feed, so that a message re-sent or corrected updates the same
// resource instead of creating another.
func stableID(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return "hl7-" + hex.EncodeToString(h[:20])
}

func validNHS(s string) bool {
	return len(s) == 10 && strings.Trim(s, "0123456789") == "" && nhsValid(s)
}

// buildMerge merges MRG's patient (the source) into PID's (the target).
func (p *Plan) buildMerge(ex Existing) (*Result, error) {
	res := &Result{}
	switch {
	case ex.MergeSource != nil && ex.Patient != nil && ex.MergeSource.ID != ex.Patient.ID:
		res.Merge = &Merge{SourceID: ex.MergeSource.ID, TargetID: ex.Patient.ID}
		return res, nil
	case ex.MergeSource != nil && ex.Patient == nil:
		// Only the prior record is known: it takes the surviving
		// identifiers and demographics.
		res.Notes = append(res.Notes, "the surviving patient was not known: Patient/"+ex.MergeSource.ID+" (found by MRG-1) takes its identifiers")
		ex.Patient = ex.MergeSource
	case ex.MergeSource == nil:
		res.Notes = append(res.Notes, "the patient merged away (MRG-1) was not known: nothing to merge, the surviving patient is updated")
	default:
		res.Notes = append(res.Notes, "MRG-1 and PID name the same patient: nothing to merge")
	}
	var b bundle
	if _, err := p.putPatient(&b, res, ex.Patient, ex.Taken); err != nil {
		return nil, err
	}
	var err error
	res.Bundle, err = b.json()
	return res, err
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
