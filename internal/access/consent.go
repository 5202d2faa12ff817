package access

import (
	"encoding/json"
	"slices"
)

type provision struct {
	Type   string `json:"type"`
	Period *struct {
		Start string `json:"start"`
		End   string `json:"end"`
	} `json:"period"`
	Actor []struct {
		Reference *reference `json:"reference"`
	} `json:"actor"`
	Purpose []coding `json:"purpose"`
	// Restrictions the rules do not evaluate: a deny carrying them is
	// applied in full (wider), a permit carrying them grants nothing.
	Action        json.RawMessage `json:"action"`
	SecurityLabel json.RawMessage `json:"securityLabel"`
	Class         json.RawMessage `json:"class"`
	Code          json.RawMessage `json:"code"`
	DataPeriod    json.RawMessage `json:"dataPeriod"`
	Data          json.RawMessage `json:"data"`
	Provision     []provision     `json:"provision"`
}

func (p *provision) narrowed() bool {
	return len(p.Action) > 0 || len(p.SecurityLabel) > 0 || len(p.Class) > 0 || len(p.Code) > 0 ||
		len(p.DataPeriod) > 0 || len(p.Data) > 0
}

// ConsentRows returns the rows a Consent resource contributes to the
// access rules, or none when it imposes nothing. Only an active Consent
// about a Patient (relative reference) counts.
//
// A National Data Opt-out is a Consent whose policy.uri is NDOPPolicy,
// or whose category is the Type 1 opt-out (SNOMED CT 827241000000103),
// with no provision or a deny provision: one "optout" row, applied to
// secondary purposes only (NHS-RULES.md 6).
//
// A privacy consent has scope patient-privacy (consentscope) and a
// provision. Each deny provision becomes a clause: "deny" rows for its
// actors (or one for anyone) times its purposes (or any purpose). The
// permit provisions nested in a deny base provision are the clause's
// exceptions ("permit" rows), and so is every Consent.organization for a
// base deny naming no actor: a patient-privacy consent governs what the
// custodian shares, not the custodian's own record. Hence:
//   - deny sharing outside the recording organisation: provision
//     {type: deny} (with Consent.organization the custodian);
//   - deny a named organisation or practitioner: provision {type: deny,
//     actor: [...]}, or a deny nested in a permit base provision;
//   - deny all but emergency access: provision {type: deny, provision:
//     [{type: permit, purpose: [BTG]}]}.
//
// Fail closed: a deny whose actor cannot be matched to a staff caller
// exactly (PractitionerRole, CareTeam, Group, absolute references)
// applies to every staff caller; a deny's purposes outside v3-ActReason
// and its data, class, code, action and security label restrictions are
// ignored (the deny applies more widely); a permit carrying any of those
// grants nothing; provisions nested deeper than two levels make the whole
// consent a deny to everyone but the custodian. Actors that are never
// staff (Patient, RelatedPerson, Device) are skipped. A base provision
// period bounds every row; a missing provision.type is read as deny.
func ConsentRows(body []byte) []ConsentRow {
	var c struct {
		Status       string      `json:"status"`
		Scope        concept     `json:"scope"`
		Category     []concept   `json:"category"`
		Patient      *reference  `json:"patient"`
		Organization []reference `json:"organization"`
		Policy       []struct {
			URI string `json:"uri"`
		} `json:"policy"`
		Provision *provision `json:"provision"`
	}
	if json.Unmarshal(body, &c) != nil || c.Status != "active" {
		return nil
	}
	patient := c.Patient.patient()
	if patient == "" {
		return nil
	}
	var start, end int64
	if p := c.Provision; p != nil && p.Period != nil {
		start, end = micros(p.Period.Start, false), micros(p.Period.End, true)
		if start < 0 || end < 0 {
			// An unreadable period: apply the rule at all times.
			start, end = 0, 0
		}
	}
	optOut := false
	for _, p := range c.Policy {
		optOut = optOut || p.URI == NDOPPolicy
	}
	for _, cat := range c.Category {
		for _, cd := range cat.Coding {
			optOut = optOut || (cd.System == snomed && cd.Code == Type1OptOut)
		}
	}
	if optOut {
		if c.Provision != nil && c.Provision.Type == "permit" {
			return nil
		}
		return []ConsentRow{{Patient: patient, Kind: "optout", Start: start, End: end}}
	}
	privacy := false
	for _, cd := range c.Scope.Coding {
		privacy = privacy || (cd.System == ConsentScopeSystem && cd.Code == "patient-privacy")
	}
	if !privacy || c.Provision == nil {
		return nil
	}
	b := &consentBuilder{patient: patient, start: start, end: end}
	for _, o := range c.Organization {
		if id, ods, ok := o.org(); ok {
			b.custodians = append(b.custodians, ConsentRow{ActorType: "Organization", ActorID: id, ActorODS: ods})
		}
	}
	base := c.Provision
	deep := false
	for _, n := range base.Provision {
		deep = deep || len(n.Provision) > 0
	}
	if deep {
		b.clause(&provision{Type: "deny"}, nil, true)
		return b.rows
	}
	if base.Type != "permit" {
		b.clause(base, base.Provision, true)
	}
	for i := range base.Provision {
		if n := &base.Provision[i]; n.Type != "permit" {
			b.clause(n, nil, false)
		}
	}
	return b.rows
}

type consentBuilder struct {
	patient    string
	start, end int64
	custodians []ConsentRow
	n          int
	rows       []ConsentRow
}

// clause adds deny p with the permit provisions among exceptions.
func (b *consentBuilder) clause(p *provision, exceptions []provision, base bool) {
	b.n++
	actors, any := staffActors(p, true)
	if !any && len(actors) == 0 {
		// Every actor named is never a staff caller: nothing to deny.
		return
	}
	purposes := purposeCodes(p.Purpose, true)
	for _, a := range actors {
		for _, pu := range purposes {
			b.add("deny", a, pu)
		}
	}
	for i := range exceptions {
		e := &exceptions[i]
		if e.Type != "permit" || e.narrowed() || e.Period != nil {
			continue
		}
		actors, _ := staffActors(e, false)
		purposes := purposeCodes(e.Purpose, false)
		if len(purposes) == 0 || len(actors) == 0 {
			continue
		}
		for _, a := range actors {
			for _, pu := range purposes {
				b.add("permit", a, pu)
			}
		}
	}
	if base && len(p.Actor) == 0 {
		for _, c := range b.custodians {
			b.add("permit", c, "")
		}
	}
}

func (b *consentBuilder) add(kind string, actor ConsentRow, purpose string) {
	r := ConsentRow{Patient: b.patient, Clause: b.n, Kind: kind, ActorType: actor.ActorType, ActorID: actor.ActorID,
		ActorODS: actor.ActorODS, Purpose: purpose, Start: b.start, End: b.end}
	if !slices.Contains(b.rows, r) {
		b.rows = append(b.rows, r)
	}
}

// staffActors returns the actors of p as rows to match staff callers
// against: one empty actor (anyone) when p names none. For a deny
// (wide), an actor that cannot be matched exactly becomes "*"; for a
// permit it is dropped. any reports whether p named no actor at all.
func staffActors(p *provision, deny bool) (out []ConsentRow, any bool) {
	if len(p.Actor) == 0 {
		return []ConsentRow{{}}, true
	}
	for _, a := range p.Actor {
		if id, ods, ok := a.Reference.org(); ok {
			out = append(out, ConsentRow{ActorType: "Organization", ActorID: id, ActorODS: ods})
			continue
		}
		switch t, id := a.Reference.target(); t {
		case "Practitioner":
			out = append(out, ConsentRow{ActorType: "Practitioner", ActorID: id})
		case "Patient", "RelatedPerson", "Device":
			// Never a staff caller.
		default:
			if deny {
				out = append(out, ConsentRow{ActorType: "*"})
			}
		}
	}
	return out, false
}

// purposeCodes returns the v3-ActReason purposes of a provision, or one
// "" (any purpose) when it names none. A deny with a purpose from
// another system applies to every purpose; a permit ignores it.
func purposeCodes(cs []coding, deny bool) []string {
	if len(cs) == 0 {
		return []string{""}
	}
	var out []string
	for _, c := range cs {
		if c.System == PurposeSystem && c.Code != "" {
			out = append(out, c.Code)
		} else if deny {
			return []string{""}
		}
	}
	return out
}
