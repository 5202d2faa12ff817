package access

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/nhs-junction/junction/internal/fhir/spec"
	"github.com/nhs-junction/junction/internal/searchparam"
)

// Filter is what stored resources a caller may see for one decided
// action. Decide computes it; SQL renders it as a condition. Its fields
// are private: the rules live in one place.
type Filter struct {
	kind     Kind
	perm     Perm
	write    bool
	scopes   Scopes
	acts     map[Activity]bool
	patients []string
	// relationship, consent and optOut switch the per-patient rules on.
	relationship, consent, optOut bool
	org, practitioner             string
	// purpose is the purpose of use for every patient but btg, whose
	// purpose is BTG.
	purpose string
	btg     string
	now     int64 // microseconds since the epoch, for consent periods
	// passed are patients already found to pass the per-patient rules
	// (PatientSQL) for this action; see Passed.
	passed []string

	mu   sync.Mutex
	memo map[string]frag // SQL renderings by alias and type
}

// Passed returns a copy of f that takes patients as passing the
// per-patient rules (care relationship, consent, opt-out) without asking
// again for each resource: the caller MUST have found PatientSQL true for
// each of them for this same action. A search of one patient's record
// then checks those rules once instead of once per candidate resource.
// Labels, scopes and every other patient a resource is in are still
// checked per resource.
func (f *Filter) Passed(patients ...string) *Filter {
	if f == nil {
		return nil
	}
	cp := &Filter{kind: f.kind, perm: f.perm, write: f.write, scopes: f.scopes, acts: f.acts, patients: f.patients,
		relationship: f.relationship, consent: f.consent, optOut: f.optOut, org: f.org, practitioner: f.practitioner,
		purpose: f.purpose, btg: f.btg, now: f.now, passed: append(slices.Clone(f.passed), patients...)}
	return cp
}

// DirectoryTypes are the resource types outside every Patient compartment
// that a patient caller may read: the people, places, services and
// products of care (R4 Organization, Practitioner, PractitionerRole,
// Location, HealthcareService, Endpoint, Medication, Substance) and the
// definitions an app needs to show or fill in the patient's data
// (Questionnaire, CodeSystem, ValueSet, ConceptMap, StructureDefinition,
// SearchParameter, OperationDefinition, CapabilityStatement). None holds
// data about a patient. Every other type outside the compartment (for
// example Group lists, Subscription, Task-free workflow definitions) is
// hidden from patients.
var DirectoryTypes = []string{"CapabilityStatement", "CodeSystem", "ConceptMap", "Endpoint", "HealthcareService",
	"Location", "Medication", "OperationDefinition", "Organization", "Practitioner", "PractitionerRole",
	"Questionnaire", "SearchParameter", "StructureDefinition", "Substance", "ValueSet"}

// inCompartment reports whether resources of typ can be in a Patient
// compartment (R4 CompartmentDefinition patient).
func inCompartment(typ string) bool {
	return typ == "Patient" || spec.InCompartment("Patient", typ)
}

// readActivity is the activity reading typ needs ("" for none).
func readActivity(typ string) Activity {
	switch {
	case typ == "Patient":
		return ReadDemographics
	case typ == "AuditEvent":
		return ReadAudit
	case inCompartment(typ):
		return ReadClinical
	}
	return ""
}

// writeActivity is the activity writing typ needs; ok is false for a
// type no caller writes (AuditEvent: the audit log is the server's).
func writeActivity(typ string) (a Activity, ok bool) {
	switch {
	case typ == "AuditEvent":
		return "", false
	case typ == "Patient":
		return AmendDemographics, true
	case inCompartment(typ):
		return WriteClinical, true
	}
	return Administer, true
}

// SQL renders the filter as a condition on the resource version row
// named alias (columns alias.type, alias.id, alias.seq), for resources of
// type typ, or of any type when typ is "" (the condition then tests
// alias.type). The condition uses '?' placeholders for the returned
// arguments, in order, and reads the search index (search_token, for
// scope restrictions) and the access tables (storesql.AccessSchema); its
// own subqueries use aliases beginning "ax_". It holds for a version the
// caller may see and is false for every other, so ANDed into a search,
// history or read statement it hides what the caller may not see, totals
// and paging included.
//
// To check one version (after a read, or a write inside its
// transaction before commit) run
//
//	SELECT 1 FROM resource_version v WHERE v.seq = ? AND <SQL("v", type)>
//
// A nil Filter is unrestricted: SQL returns "1=1".
func (f *Filter) SQL(alias, typ string) (string, []any) {
	if f == nil {
		return "1=1", nil
	}
	// A search renders the filter for many statements and hops, mostly
	// for the same few aliases and types; rendering it for every type
	// (typ "") walks all of them, so each rendering is kept.
	key := alias + "\x00" + typ
	f.mu.Lock()
	x, ok := f.memo[key]
	f.mu.Unlock()
	if !ok {
		if typ != "" {
			x = f.typeCond(alias, typ)
		} else {
			x = f.anyType(alias)
		}
		f.mu.Lock()
		if f.memo == nil {
			f.memo = map[string]frag{}
		}
		f.memo[key] = x
		f.mu.Unlock()
	}
	return x.sql, slices.Clone(x.args)
}

// anyType is the filter over every resource type: types grouped by their
// condition, each group "alias.type IN (...) AND condition".
func (f *Filter) anyType(alias string) frag {
	type group struct {
		cond  frag
		types []string
	}
	var groups []*group
	byKey := map[string]*group{}
	for _, t := range spec.ResourceTypes() {
		c := f.typeCond(alias, t)
		if c.sql == "1=0" {
			continue
		}
		key := c.key()
		g := byKey[key]
		if g == nil {
			g = &group{cond: c}
			byKey[key] = g
			groups = append(groups, g)
		}
		g.types = append(g.types, t)
	}
	var ors []frag
	for _, g := range groups {
		ors = append(ors, and(in(alias+".type", g.types), g.cond))
	}
	return or(ors...)
}

// typeCond is the filter for resources of typ.
func (f *Filter) typeCond(alias, typ string) frag {
	comp := inCompartment(typ)
	patientKind := f.kind == PatientUser
	if patientKind && !comp && !slices.Contains(DirectoryTypes, typ) {
		return f0
	}
	var need Activity
	if f.write {
		a, ok := f.writeActivity(typ)
		if !ok {
			return f0
		}
		need = a
	} else {
		need = readActivity(typ)
	}
	if need != "" && !f.acts[need] {
		return f0
	}
	conds := []frag{}
	sc, ok := f.scopeCond(alias, typ)
	if !ok {
		return f0
	}
	conds = append(conds, sc)
	conds = append(conds, f.labelCond(alias, typ))
	switch {
	case patientKind && comp:
		conds = append(conds, f.ownCompartments(alias))
	case !patientKind && comp && typ != "AuditEvent":
		// Reading the audit log is governed by read-audit alone: a
		// privacy officer reviews every patient's accesses, whatever
		// their organisation's care relationships and the patients'
		// consents (which concern the care record, not its audit).
		conds = append(conds, f.perPatientCond(alias, typ))
	}
	if f.write && typ == "Task" && f.kind == PrivacyOfficer {
		conds = append(conds, f_("EXISTS (SELECT 1 FROM search_token ax_k WHERE ax_k.seq = "+alias+".seq AND ax_k.param = 'code' AND ax_k.system = ? AND ax_k.code = ?)",
			DisputeSystem, DisputeCode))
	}
	return and(conds...)
}

// The Task a patient's dispute of an entry in their access log creates
// (interaction $dispute) carries this code; privacy officers work such
// Tasks, and only these, to completion.
const (
	DisputeSystem = "https://fhir.junction.nhs.uk/CodeSystem/audit-task"
	DisputeCode   = "access-dispute"
)

// writeActivity is the activity writing typ needs for this caller: a
// privacy officer changes dispute Tasks under read-audit (typeCond then
// limits them to Tasks coded DisputeCode); otherwise as writeActivity.
func (f *Filter) writeActivity(typ string) (Activity, bool) {
	if typ == "Task" && f.kind == PrivacyOfficer {
		return ReadAudit, true
	}
	return writeActivity(typ)
}

// scopeCond is the disjunction of the scopes granting f.perm on typ,
// each with its context and restrictions; ok is false when none does.
func (f *Filter) scopeCond(alias, typ string) (frag, bool) {
	var ors []frag
	for _, s := range f.scopes.Granting(f.kind, f.perm, typ) {
		var c []frag
		if s.Context == PatientContext {
			switch {
			case inCompartment(typ):
				c = append(c, f.ownCompartments(alias))
			case !slices.Contains(DirectoryTypes, typ):
				continue
			}
		}
		usable := true
		for _, r := range s.Restrict {
			d, ok := searchparam.R4().Lookup(typ, r.Param)
			if !ok || d.Kind != searchparam.KindToken {
				// A restriction this type cannot satisfy grants nothing.
				usable = false
				break
			}
			var vals []frag
			for _, v := range r.Values {
				if v.HasSystem {
					vals = append(vals, f_("(ax_s.code = ? AND ax_s.system = ?)", v.Code, v.System))
				} else {
					vals = append(vals, f_("ax_s.code = ?", v.Code))
				}
			}
			c = append(c, join("", f_("EXISTS (SELECT 1 FROM search_token ax_s WHERE ax_s.seq = "+alias+".seq AND ax_s.param = ? AND ", r.Param), or(vals...), f_(")")))
		}
		if !usable {
			continue
		}
		if len(c) == 0 {
			return f1, true
		}
		ors = append(ors, and(c...))
	}
	if len(ors) == 0 {
		return f0, false
	}
	return or(ors...), true
}

// ownCompartments holds for a version in at least one Patient
// compartment and only in compartments of f.patients.
func (f *Filter) ownCompartments(alias string) frag {
	if len(f.patients) == 0 {
		return f0
	}
	return and(
		f_("EXISTS (SELECT 1 FROM access_tag ax_p WHERE ax_p.seq = "+alias+".seq AND ax_p.kind = 'p')"),
		join("", f_("NOT EXISTS (SELECT 1 FROM access_tag ax_q WHERE ax_q.seq = "+alias+".seq AND ax_q.kind = 'p' AND NOT "), in("ax_q.value", f.patients), f_(")")))
}

// labelCond hides versions labelled R or V unless the caller's
// activities clear that label. On a Patient, R is PDS's restricted
// (S-flag) record: it is shown, redacted (Decision.RedactRestricted).
func (f *Filter) labelCond(alias, typ string) frag {
	var hidden []string
	if !f.acts[ReadRestricted] && typ != "Patient" {
		hidden = append(hidden, "R")
	}
	if !f.acts[ReadVeryRestricted] {
		hidden = append(hidden, "V")
	}
	if len(hidden) == 0 {
		return f1
	}
	return join("", f_("NOT EXISTS (SELECT 1 FROM access_tag ax_l WHERE ax_l.seq = "+alias+".seq AND ax_l.kind = 'l' AND "), in("ax_l.value", hidden), f_(")"))
}

// perPatientCond holds when every Patient compartment of the version
// passes the per-patient rules for staff and systems.
func (f *Filter) perPatientCond(alias, typ string) frag {
	rule := f.patientRule(f_("ax_t.value"), typ)
	if rule.sql == "1=1" {
		return f1
	}
	skip := f_("")
	if len(f.passed) > 0 {
		args := make([]any, len(f.passed))
		for i, p := range f.passed {
			args[i] = p
		}
		skip = f_("ax_t.value NOT IN (?"+strings.Repeat(", ?", len(f.passed)-1)+") AND ", args...)
	}
	return join("", f_("NOT EXISTS (SELECT 1 FROM access_tag ax_t WHERE ax_t.seq = "+alias+".seq AND ax_t.kind = 'p' AND "), skip, f_("NOT "), rule, f_(")"))
}

// PatientSQL renders, with no table alias, the condition that the caller
// may see the clinical data of patient: a legitimate relationship (or
// break-glass for that patient), no consent denying the caller, and no
// opt-out for a secondary purpose. It is "1=1" when no per-patient rule
// binds the caller. The lead uses it to tell "no legitimate
// relationship" (Decision.NoRelationship) from "not found".
func (f *Filter) PatientSQL(patient string) (string, []any) {
	if f == nil {
		return "1=1", nil
	}
	r := f.patientRule(f_("?", patient), "")
	return r.sql, r.args
}

// RelationshipSQL renders, with no table alias, the condition that the
// caller's organisation is caring for patient or the caller holds a
// break-glass grant for patient. It is "1=1" when the caller is not
// bound by the relationship rule.
func (f *Filter) RelationshipSQL(patient string) (string, []any) {
	if f == nil || !f.relationship {
		return "1=1", nil
	}
	r := f.relationshipRule(f_("?", patient))
	return r.sql, r.args
}

// patientRule is the per-patient rule for patient id val (an SQL
// expression). On a Patient resource only the opt-out applies: its
// demographics are read under read-demographics, not the care rules.
func (f *Filter) patientRule(val frag, typ string) frag {
	var c []frag
	if f.relationship && typ != "Patient" {
		c = append(c, f.relationshipRule(val))
	}
	if f.consent && typ != "Patient" {
		c = append(c, f.consentRule(val))
	}
	if f.optOut {
		c = append(c, join("", f_("NOT EXISTS (SELECT 1 FROM access_consent ax_n WHERE ax_n.patient = "), val,
			f_(" AND ax_n.kind = 'optout' AND "), f.active("ax_n"), f_(")")))
	}
	if len(c) == 0 {
		return f1
	}
	return and(c...)
}

func (f *Filter) relationshipRule(val frag) frag {
	var ors []frag
	if f.org != "" {
		ors = append(ors, join("", f_("EXISTS (SELECT 1 FROM access_care ax_c WHERE ax_c.patient = "), val,
			f_(" AND (ax_c.org_ods = ? OR (ax_c.org_id <> '' AND ax_c.org_id IN (SELECT ax_o.id FROM access_org ax_o WHERE ax_o.ods = ?))))", f.org, f.org)))
	}
	if f.btg != "" {
		ors = append(ors, join("", val, f_(" = ?", f.btg)))
	}
	return or(ors...)
}

// consentRule holds when no deny clause of the patient's consents
// applies to the caller: a deny applies when its actor and purpose match
// and no permit of the same clause matches.
func (f *Filter) consentRule(val frag) frag {
	match := func(x string) frag {
		actor := []frag{f_(x + ".actor_type IN ('', '*')")}
		if f.org != "" {
			actor = append(actor, f_("("+x+".actor_type = 'Organization' AND ("+x+".actor_ods = ? OR ("+x+".actor_id <> '' AND "+x+
				".actor_id IN (SELECT ax_o2.id FROM access_org ax_o2 WHERE ax_o2.ods = ?))))", f.org, f.org))
		}
		if f.practitioner != "" {
			actor = append(actor, f_("("+x+".actor_type = 'Practitioner' AND "+x+".actor_id = ?)", f.practitioner))
		}
		purpose := f_("("+x+".purpose = '' OR "+x+".purpose = ?)", f.purpose)
		if f.btg != "" {
			purpose = join("", f_("("+x+".purpose = '' OR "+x+".purpose = CASE WHEN "), val, f_(" = ? THEN 'BTG' ELSE ? END)", f.btg, f.purpose))
		}
		return and(or(actor...), purpose, f.active(x))
	}
	return join("", f_("NOT EXISTS (SELECT 1 FROM access_consent ax_d WHERE ax_d.patient = "), val, f_(" AND ax_d.kind = 'deny' AND "),
		match("ax_d"), f_(" AND NOT EXISTS (SELECT 1 FROM access_consent ax_e WHERE ax_e.src_id = ax_d.src_id AND ax_e.clause = ax_d.clause AND ax_e.kind = 'permit' AND "),
		match("ax_e"), f_("))"))
}

func (f *Filter) active(x string) frag {
	return f_("("+x+".start_us = 0 OR "+x+".start_us <= ?) AND ("+x+".end_us = 0 OR "+x+".end_us > ?)", f.now, f.now)
}

// frag is SQL with '?' placeholders and their arguments in order.
type frag struct {
	sql  string
	args []any
}

var (
	f0 = frag{sql: "1=0"}
	f1 = frag{sql: "1=1"}
)

func f_(sql string, args ...any) frag { return frag{sql, args} }

func (x frag) key() string { return fmt.Sprintf("%s\x00%#v", x.sql, x.args) }

func join(sep string, parts ...frag) frag {
	var b strings.Builder
	var args []any
	for i, p := range parts {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(p.sql)
		args = append(args, p.args...)
	}
	return frag{b.String(), args}
}

// and joins parts with AND, dropping "1=1" and collapsing to "1=0" when
// any part is "1=0".
func and(parts ...frag) frag {
	var keep []frag
	for _, p := range parts {
		switch p.sql {
		case "1=1":
			continue
		case "1=0":
			return f0
		}
		keep = append(keep, p)
	}
	switch len(keep) {
	case 0:
		return f1
	case 1:
		return keep[0]
	}
	x := join(" AND ", keep...)
	return frag{"(" + x.sql + ")", x.args}
}

// or joins parts with OR, dropping "1=0" and collapsing to "1=1" when any
// part is "1=1".
func or(parts ...frag) frag {
	var keep []frag
	for _, p := range parts {
		switch p.sql {
		case "1=0":
			continue
		case "1=1":
			return f1
		}
		keep = append(keep, p)
	}
	switch len(keep) {
	case 0:
		return f0
	case 1:
		return keep[0]
	}
	x := join(" OR ", keep...)
	return frag{"(" + x.sql + ")", x.args}
}

func in(col string, vals []string) frag {
	switch len(vals) {
	case 0:
		return f0
	case 1:
		return f_(col+" = ?", vals[0])
	}
	args := make([]any, len(vals))
	for i, v := range vals {
		args[i] = v
	}
	return frag{col + " IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(vals)), ", ") + ")", args}
}
