package access

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/fhir/spec"
)

// Interaction is what an Action does (R4 http.html).
type Interaction string

// Interactions.
const (
	Read            Interaction = "read"
	VRead           Interaction = "vread"
	Search          Interaction = "search"
	HistoryInstance Interaction = "history-instance"
	HistoryType     Interaction = "history-type"
	HistorySystem   Interaction = "history-system"
	Create          Interaction = "create"
	Update          Interaction = "update"
	Patch           Interaction = "patch"
	Delete          Interaction = "delete"
	Operation       Interaction = "operation"
)

// Action is one interaction a caller asks for. A batch or transaction is
// decided entry by entry (SMART 2.x "Batches and Transactions").
type Action struct {
	Interaction Interaction
	// Type is the resource type, "" for system-level search and history
	// and for system-level operations.
	Type string
	// ID is the resource id of an instance-level action.
	ID string
	// Patient, when known, is the Patient whose compartment the target is
	// in (the Patient id itself for a Patient).
	Patient string
	// Operation is the operation name with its "$" for Interaction
	// Operation ("$everything").
	Operation string
}

// Decision is the outcome of an allowed action.
type Decision struct {
	// Filter restricts which stored versions the caller may see: ANDed
	// into every statement that reads resources for the action (matches,
	// includes, chains, _has, totals, history, reads), and checked against
	// each version a write stores before its transaction commits. nil
	// means unrestricted (authorisation switched off).
	Filter *Filter
	// BreakGlass is set when the response carries data opened by an
	// emergency access: mark the response (and audit it).
	BreakGlass bool
	// RedactRestricted is set when restricted (R-labelled) Patients must
	// be returned without the demographics PDS withholds (address,
	// telecom, generalPractitioner), flagged REDACTED.
	RedactRestricted bool
	// Purpose is the purpose of use the action was decided for.
	Purpose string
	// NoRelationship is the 403 to answer when the target exists but the
	// caller's organisation has no care relationship with its patient
	// (Filter.RelationshipSQL is false); nil when the rule does not bind
	// the caller.
	NoRelationship *fhir.Error
}

// Decider makes access decisions under a Policy. It is safe for
// concurrent use.
type Decider struct {
	p   *Policy
	now func() time.Time
}

// Option configures a Decider.
type Option func(*Decider)

// WithClock sets the clock break-glass expiry and consent periods are
// judged by (default time.Now).
func WithClock(now func() time.Time) Option { return func(d *Decider) { d.now = now } }

// NewDecider returns a Decider for p (DefaultPolicy when nil).
func NewDecider(p *Policy, opts ...Option) *Decider {
	if p == nil {
		p = DefaultPolicy()
	}
	d := &Decider{p: p, now: time.Now}
	for _, o := range opts {
		o(d)
	}
	return d
}

// Policy returns the policy d decides by.
func (d *Decider) Policy() *Policy { return d.p }

// op is what an operation needs: the scope permission on its type, and
// the activity when it is not the type's own read or write activity.
type op struct {
	perm     Perm
	write    bool
	activity Activity
}

// operations are the operations Junction serves. Any other is refused:
// an operation the decision does not know might read or write anything.
var operations = map[string]op{
	"$everything":    {perm: PermSearch},
	"$match":         {perm: PermSearch, activity: ReadDemographics},
	"$ihe-pix":       {perm: PermSearch, activity: ReadDemographics},
	"$merge":         {perm: PermUpdate, write: true, activity: AmendDemographics},
	"$lookup":        {perm: PermRead},
	"$subsumes":      {perm: PermRead},
	"$expand":        {perm: PermRead},
	"$validate-code": {perm: PermRead},
	"$validate":      {perm: PermRead},
	// Opening break-glass needs the emergency access activity (B0168);
	// the grant then widens later requests, see Decider.purpose.
	"$break-glass": {perm: PermRead, activity: EmergencyAccess},
	// The audit operations (README, Tamper-evident audit log): the proof
	// of one AuditEvent, a patient's access log, and a patient's dispute
	// of an entry in it. Each needs read-audit; the operation itself
	// limits a patient to their own record.
	"$proof":      {perm: PermRead, activity: ReadAudit},
	"$access-log": {perm: PermRead, activity: ReadAudit},
	"$dispute":    {perm: PermRead, activity: ReadAudit},
	// Imaging triage (README, Imaging triage): the worklist searches
	// ImagingStudy; $ai-triage writes the AI's Observation, each write of
	// which is decided again as the caller's own.
	"$worklist":  {perm: PermSearch},
	"$ai-triage": {perm: PermCreate, write: true},
}

func denied(format string, args ...any) *fhir.Error {
	return fhir.Errorf(403, fhir.IssueForbidden, format, args...)
}

// notFound is what a patient caller gets for anything outside their
// compartments: the same answer as for a resource that does not exist.
func notFound(a Action) *fhir.Error {
	if a.ID != "" {
		return fhir.Errorf(404, fhir.IssueNotFound, "%s/%s is not known", a.Type, a.ID)
	}
	return fhir.Errorf(404, fhir.IssueNotFound, "not found")
}

// Decide decides whether caller c may carry out action a. It returns a
// *fhir.Error: 401 when there is no caller; 403 naming the reason when a
// scope is not granted, the caller's roles lack the activity, the
// purpose of use is not recognised or break-glass is asserted without
// the right or a valid grant; 404 when a patient caller asks for
// anything outside their compartments. An allowed action gets a Decision
// whose Filter the caller of Decide MUST apply to every read the action
// makes.
func (d *Decider) Decide(c *Caller, a Action) (Decision, error) {
	if c == nil {
		return Decision{}, fhir.Errorf(401, fhir.IssueSecurity, "authentication is required")
	}
	if c.Kind == Development {
		// Everything is allowed, but no development caller holds the
		// activity to see restricted demographics (B1611): a restricted
		// Patient is still redacted and never found by them, as the
		// README promises for every caller without that activity.
		return Decision{Purpose: c.Purpose, RedactRestricted: true}, nil
	}
	kp, ok := d.p.Kinds[c.Kind]
	if !ok {
		return Decision{}, denied("callers of kind %q have no access", c.Kind)
	}
	scopes, err := ParseScopes(c.Scopes)
	if err != nil {
		return Decision{}, denied("the access token's scopes cannot be enforced: %v", err)
	}
	perm, write, opAct, err := need(a)
	if err != nil {
		return Decision{}, err
	}
	now := d.now()
	f := &Filter{kind: c.Kind, perm: perm, write: write, scopes: scopes, acts: d.p.activities(c),
		patients: c.Patients, org: c.Organization, practitioner: c.Practitioner, now: now.UnixMicro()}
	dec := Decision{Filter: f, RedactRestricted: !f.acts[ReadRestrictedDemographics]}

	if c.Kind == PatientUser {
		// A patient acts for themselves and those they are authorised
		// for; the purpose is their own request.
		dec.Purpose = "PATRQT"
		f.purpose = dec.Purpose
		if len(c.Patients) == 0 {
			return Decision{}, denied("no patient is linked to this account")
		}
		if a.Patient != "" && !slices.Contains(c.Patients, a.Patient) {
			return Decision{}, notFound(a)
		}
		if a.Type != "" && !inCompartment(a.Type) && !slices.Contains(DirectoryTypes, a.Type) && !write {
			return Decision{}, notFound(a)
		}
	} else {
		if err := d.purpose(c, f, &dec, a); err != nil {
			return Decision{}, err
		}
		f.relationship = kp.Relationship
		f.consent = kp.Consent
	}

	if a.Type != "" {
		if err := d.checkType(c, f, a, opAct); err != nil {
			return Decision{}, err
		}
	} else if seesNothing(f) {
		return Decision{}, denied("the access token grants no scope, or your role no activity, for %s on any resource type", verb(a))
	}
	if f.relationship {
		dec.NoRelationship = d.noRelationship(c, f)
	}
	return dec, nil
}

// seesNothing reports whether f lets the caller see no resource type.
func seesNothing(f *Filter) bool {
	for _, t := range spec.ResourceTypes() {
		if f.typeCond("v", t).sql != "1=0" {
			return false
		}
	}
	return true
}

// need returns the scope permission, whether it writes, and any
// operation-specific activity of a.
func need(a Action) (Perm, bool, Activity, error) {
	switch a.Interaction {
	case Read, VRead, HistoryInstance:
		return PermRead, false, "", nil
	case Search, HistoryType, HistorySystem:
		return PermSearch, false, "", nil
	case Create:
		return PermCreate, true, "", nil
	case Update, Patch:
		return PermUpdate, true, "", nil
	case Delete:
		return PermDelete, true, "", nil
	case Operation:
		o, ok := operations[a.Operation]
		if !ok {
			return 0, false, "", denied("the operation %q is not covered by the access policy", a.Operation)
		}
		return o.perm, o.write, o.activity, nil
	}
	return 0, false, "", denied("the interaction %q is not covered by the access policy", a.Interaction)
}

func verb(a Action) string {
	if a.Interaction == Operation {
		return a.Operation
	}
	return string(a.Interaction)
}

// purpose settles the purpose of use of a staff or system caller and
// any break-glass grant.
func (d *Decider) purpose(c *Caller, f *Filter, dec *Decision, a Action) error {
	p := c.Purpose
	if p == "" {
		p = "TREAT"
	}
	class, ok := d.p.Purposes[p]
	if !ok {
		return denied("the purpose of use %q is not one this server recognises", p)
	}
	bg := c.BreakGlass
	if p == "BTG" || bg != nil {
		if !f.acts[EmergencyAccess] {
			return denied("break-glass (emergency access, B0168) is not open to your role")
		}
		now := d.now()
		switch {
		case bg == nil:
			return denied("break-glass needs a grant naming the patient and the reason")
		case strings.TrimSpace(bg.Reason) == "" || bg.Patient == "":
			return denied("break-glass needs a reason and a patient")
		case !now.Before(bg.Until):
			return denied("the break-glass access to this patient has expired; assert it again with a reason")
		case bg.Until.After(now.Add(d.p.BreakGlass + time.Minute)):
			return denied("a break-glass access lasts at most %s", d.p.BreakGlass)
		case class == Secondary || (p != "BTG" && class != DirectCare):
			return denied("break-glass is for direct care, not purpose %q", p)
		}
		f.btg = bg.Patient
		if p == "BTG" {
			// BTG holds for the grant's patient only; the rest of the
			// request is direct care.
			p = "TREAT"
		}
		dec.BreakGlass = a.Patient == "" || a.Patient == bg.Patient
	}
	f.purpose = p
	f.optOut = class == Secondary
	dec.Purpose = p
	if dec.BreakGlass {
		dec.Purpose = "BTG"
	}
	return nil
}

// checkType checks the scope and activity for an action on one type.
func (d *Decider) checkType(c *Caller, f *Filter, a Action, opAct Activity) error {
	if !spec.IsResourceType(a.Type) {
		return fhir.Errorf(404, fhir.IssueNotFound, "%q is not a resource type", a.Type)
	}
	if !f.scopes.Allows(c.Kind, f.perm, a.Type) {
		return denied("the access token grants no scope to %s %s (needs %s/%s.%s or a wildcard)", verb(a), a.Type, scopeContext(c.Kind), a.Type, f.perm)
	}
	var act Activity
	switch {
	case opAct != "":
		act = opAct
	case f.write:
		w, ok := f.writeActivity(a.Type)
		if !ok {
			return denied("%s resources are written by the server only", a.Type)
		}
		act = w
	default:
		act = readActivity(a.Type)
	}
	if act != "" && !f.acts[act] {
		return denied("your role does not include the activity %s needed to %s %s", describe(act), verb(a), a.Type)
	}
	if c.Kind == PatientUser && f.typeCond("v", a.Type).sql == "1=0" {
		return notFound(a)
	}
	return nil
}

func scopeContext(k Kind) string {
	switch k {
	case System:
		return "system"
	case PatientUser:
		return "patient"
	}
	return "user"
}

func describe(a Activity) string {
	if code := Activities[a]; code != "" {
		return fmt.Sprintf("%s (%s)", a, code)
	}
	return string(a)
}

// noRelationship is the 403 for a target outside the caller's care
// relationships, saying whether break-glass is open to them.
func (d *Decider) noRelationship(c *Caller, f *Filter) *fhir.Error {
	org := c.Organization
	if org == "" {
		org = "none"
	}
	msg := fmt.Sprintf("no legitimate relationship: your organisation (ODS %s) is not recorded as caring for this patient "+
		"(an active encounter, episode of care or care team, an open referral, or GP registration)", org)
	if f.acts[EmergencyAccess] {
		msg += "; break-glass is open to your role: assert purpose BTG for this patient with a reason (it is audited and reviewed)"
	} else {
		msg += "; break-glass is not open to your role"
	}
	return denied("%s", msg)
}
