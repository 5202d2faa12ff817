package access_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/nhs-junction/junction/internal/access"
	"github.com/nhs-junction/junction/internal/fhir/spec"
)

// The property test generates random stores (patients, labels, care
// relationships, consents, opt-outs) and random callers (kinds, roles,
// organisations, scopes, purposes, break-glass), and checks that the SQL
// filter lets through exactly what a plain Go statement of the rules,
// written from the facts the generator chose (not from the stored JSON),
// says each caller may see.

var orgIDs = map[string]string{"A1": "oa", "B1": "ob"} // C1 has no Organization resource

type pRes struct {
	typ, id  string
	patients []string
	label    string
	category string
}

type pConsent struct {
	kind   string // outside, org, practitioner, btg, optout, inactive
	org    string // custodian or denied organisation (ODS)
	pract  string
	active bool
}

type pWorld struct {
	bodies   []string
	res      []pRes
	caring   map[string][]string // patient -> ODS codes caring
	consents map[string][]pConsent
}

func orgRef(r *rand.Rand, ods string) string {
	if id, ok := orgIDs[ods]; ok && r.IntN(2) == 0 {
		return `{"reference":"Organization/` + id + `"}`
	}
	return `{"identifier":{"system":"https://fhir.nhs.uk/Id/ods-organization-code","value":"` + ods + `"}}`
}

func security(label string) string {
	if label == "" {
		return ""
	}
	return `"meta":{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"` + label + `"}]},`
}

func pick[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

const privacyScope = `"scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},"category":[{"text":"privacy"}]`

func genWorld(r *rand.Rand) *pWorld {
	w := &pWorld{caring: map[string][]string{}, consents: map[string][]pConsent{}}
	add := func(body string, res pRes) {
		w.bodies = append(w.bodies, body)
		w.res = append(w.res, res)
	}
	for ods, id := range orgIDs {
		add(`{"resourceType":"Organization","id":"`+id+`","identifier":[{"system":"https://fhir.nhs.uk/Id/ods-organization-code","value":"`+ods+`"}]}`, pRes{typ: "Organization", id: id})
	}
	add(`{"resourceType":"Practitioner","id":"dr1"}`, pRes{typ: "Practitioner", id: "dr1"})
	add(`{"resourceType":"Group","id":"g1","type":"person","actual":true}`, pRes{typ: "Group", id: "g1"})
	orgs := []string{"A1", "B1", "C1"}
	n := 0
	for i := range 6 {
		p := fmt.Sprintf("p%d", i)
		label := pick(r, "", "", "R", "V")
		body := `{"resourceType":"Patient","id":"` + p + `",` + security(label)
		if r.IntN(2) == 0 {
			gp := pick(r, orgs...)
			body += `"generalPractitioner":[` + orgRef(r, gp) + `],`
			w.caring[p] = append(w.caring[p], gp)
		}
		add(body+`"active":true}`, pRes{typ: "Patient", id: p, patients: []string{p}, label: label})
		for range r.IntN(3) {
			n++
			id := fmt.Sprintf("c%d", n)
			org := pick(r, orgs...)
			active := r.IntN(3) > 0
			var b string
			switch r.IntN(4) {
			case 0:
				st := pick(r, "finished", "cancelled")
				if active {
					st = pick(r, "planned", "arrived", "triaged", "in-progress", "onleave")
				}
				b = `{"resourceType":"Encounter","id":"` + id + `","status":"` + st + `","class":{"code":"AMB"},"subject":{"reference":"Patient/` + p + `"},"serviceProvider":` + orgRef(r, org) + `}`
			case 1:
				st := pick(r, "finished", "onhold")
				if active {
					st = "active"
				}
				b = `{"resourceType":"EpisodeOfCare","id":"` + id + `","status":"` + st + `","patient":{"reference":"Patient/` + p + `"},"managingOrganization":` + orgRef(r, org) + `}`
			case 2:
				st := pick(r, "inactive", "proposed")
				if active {
					st = "active"
				}
				b = `{"resourceType":"CareTeam","id":"` + id + `","status":"` + st + `","subject":{"reference":"Patient/` + p + `"},"participant":[{"member":` + orgRef(r, org) + `}]}`
			case 3:
				st := pick(r, "completed", "revoked", "draft")
				if active {
					st = "active"
				}
				b = `{"resourceType":"ServiceRequest","id":"` + id + `","status":"` + st + `","intent":"order","code":{"text":"x"},"subject":{"reference":"Patient/` + p + `"},"performer":[` + orgRef(r, org) + `]}`
			}
			var h struct{ typ string }
			fmt.Sscanf(b, `{"resourceType":%q`, &h.typ)
			add(b, pRes{typ: typeOf(b), id: id, patients: []string{p}})
			if active {
				w.caring[p] = append(w.caring[p], org)
			}
		}
		if r.IntN(2) == 0 {
			n++
			id := fmt.Sprintf("k%d", n)
			c := pConsent{kind: pick(r, "outside", "org", "practitioner", "btg", "optout"), org: pick(r, orgs...), pract: pick(r, "dr1", "dr2"), active: r.IntN(4) > 0}
			status := "inactive"
			if c.active {
				status = "active"
			}
			b := `{"resourceType":"Consent","id":"` + id + `","status":"` + status + `",` + privacyScope + `,"patient":{"reference":"Patient/` + p + `"}`
			switch c.kind {
			case "outside":
				b += `,"organization":[` + orgRef(r, c.org) + `],"provision":{"type":"deny"}}`
			case "org":
				b += `,"provision":{"type":"deny","actor":[{"role":{"text":"x"},"reference":` + orgRef(r, c.org) + `}]}}`
			case "practitioner":
				b += `,"provision":{"type":"permit","provision":[{"type":"deny","actor":[{"role":{"text":"x"},"reference":{"reference":"Practitioner/` + c.pract + `"}}]}]}}`
			case "btg":
				b += `,"organization":[` + orgRef(r, c.org) + `],"provision":{"type":"deny","provision":[{"type":"permit","purpose":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActReason","code":"BTG"}]}]}}`
			case "optout":
				b += `,"policy":[{"uri":"https://digital.nhs.uk/services/national-data-opt-out"}]}`
			}
			add(b, pRes{typ: "Consent", id: id, patients: []string{p}})
			if c.active {
				w.consents[p] = append(w.consents[p], c)
			}
		}
		for j := range 3 {
			id := fmt.Sprintf("o%d_%d", i, j)
			label, cat := pick(r, "", "", "R", "V"), pick(r, "laboratory", "vital-signs")
			add(obsBody(id, p, cat, label), pRes{typ: "Observation", id: id, patients: []string{p}, label: label, category: cat})
		}
	}
	for j := range 2 {
		id := fmt.Sprintf("ox%d", j)
		cat := pick(r, "laboratory", "vital-signs")
		add(obsBody(id, "", cat, ""), pRes{typ: "Observation", id: id, category: cat})
	}
	// A group appointment: in two patients' compartments.
	a, b := fmt.Sprintf("p%d", r.IntN(6)), fmt.Sprintf("p%d", r.IntN(6))
	pats := []string{a}
	if b != a {
		pats = append(pats, b)
	}
	add(`{"resourceType":"Appointment","id":"ap","status":"booked","participant":[{"actor":{"reference":"Patient/`+a+`"},"status":"accepted"},{"actor":{"reference":"Patient/`+b+`"},"status":"accepted"}]}`,
		pRes{typ: "Appointment", id: "ap", patients: pats})
	return w
}

func typeOf(body string) string {
	var t string
	fmt.Sscanf(body, `{"resourceType":%q`, &t)
	return t
}

func obsBody(id, patient, category, label string) string { return obs(id, patient, category, label) }

// pScope is a scope with the meaning the reference reads.
type pScope struct {
	raw      string
	ctx      string
	typ      string
	search   bool
	category string
}

var scopePool = []pScope{
	{"user/*.rs", "user", "*", true, ""},
	{"user/Observation.rs", "user", "Observation", true, ""},
	{"user/Patient.read", "user", "Patient", true, ""},
	{"user/Observation.s?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory", "user", "Observation", true, "laboratory"},
	{"user/*.c", "user", "*", false, ""},
	{"patient/*.rs", "patient", "*", true, ""},
	{"patient/Observation.rs?category=vital-signs", "patient", "Observation", true, "vital-signs"},
	{"system/*.rs", "system", "*", true, ""},
	{"system/Observation.s", "system", "Observation", true, ""},
}

type pCaller struct {
	c      *access.Caller
	scopes []pScope
}

func genCaller(r *rand.Rand) pCaller {
	kind := pick(r, access.Practitioner, access.Practitioner, access.System, access.PatientUser, access.PrivacyOfficer, access.Admin)
	c := &access.Caller{Kind: kind}
	var scopes []pScope
	for range 1 + r.IntN(3) {
		s := pick(r, scopePool...)
		scopes = append(scopes, s)
		c.Scopes = append(c.Scopes, s.raw)
	}
	if kind == access.PatientUser {
		c.Patients = []string{fmt.Sprintf("p%d", r.IntN(6))}
		if r.IntN(3) == 0 {
			c.Patients = append(c.Patients, fmt.Sprintf("p%d", r.IntN(6)))
		}
		return pCaller{c, scopes}
	}
	c.Organization = pick(r, "A1", "B1", "C1", "")
	c.Practitioner = pick(r, "dr1", "dr2", "")
	for range r.IntN(3) {
		c.Roles = append(c.Roles, pick(r, "R8000", "R0260", "R0620", "R8008", "R0001", "R9999"))
	}
	c.Purpose = pick(r, "", "TREAT", "HRESCH", "PUBHLTH", "BTG")
	if c.Purpose == "BTG" || r.IntN(6) == 0 {
		c.BreakGlass = &access.BreakGlass{Reason: "emergency", Patient: fmt.Sprintf("p%d", r.IntN(6)), Until: now.Add(time.Hour)}
	}
	if r.IntN(3) == 0 {
		c.Patients = []string{fmt.Sprintf("p%d", r.IntN(6))}
	}
	return pCaller{c, scopes}
}

// refVisible states the rules (README.md, Access control) directly.
func refVisible(pol *access.Policy, pc pCaller, w *pWorld, x pRes) bool {
	c := pc.c
	acts := map[access.Activity]bool{}
	for _, a := range pol.Kinds[c.Kind].Activities {
		acts[a] = true
	}
	if c.Kind != access.PatientUser {
		for _, role := range c.Roles {
			for _, a := range pol.Roles[role].Activities {
				acts[a] = true
			}
		}
	}
	comp := x.typ == "Patient" || spec.InCompartment("Patient", x.typ)
	directory := slices.Contains(access.DirectoryTypes, x.typ)
	patientKind := c.Kind == access.PatientUser
	if patientKind && !comp && !directory {
		return false
	}
	need := map[string]access.Activity{"Patient": access.ReadDemographics, "AuditEvent": access.ReadAudit}[x.typ]
	if need == "" && comp {
		need = access.ReadClinical
	}
	if need != "" && !acts[need] {
		return false
	}
	own := func() bool {
		if len(x.patients) == 0 {
			return false
		}
		for _, p := range x.patients {
			if !slices.Contains(c.Patients, p) {
				return false
			}
		}
		return true
	}
	granted := false
	for _, s := range pc.scopes {
		if !s.search || (s.typ != "*" && s.typ != x.typ) {
			continue
		}
		if (s.ctx == "user" && c.Kind == access.System) || (s.ctx == "system" && c.Kind != access.System) {
			continue
		}
		if s.ctx == "patient" && ((comp && !own()) || (!comp && !directory)) {
			continue
		}
		if s.category != "" && x.category != s.category {
			continue
		}
		granted = true
	}
	if !granted {
		return false
	}
	if (x.label == "R" && x.typ != "Patient" && !acts[access.ReadRestricted]) || (x.label == "V" && !acts[access.ReadVeryRestricted]) {
		return false
	}
	if !comp {
		return true
	}
	if patientKind {
		return own()
	}
	kp := pol.Kinds[c.Kind]
	purpose := c.Purpose
	if purpose == "" || purpose == "BTG" {
		purpose = "TREAT"
	}
	btg := ""
	if c.BreakGlass != nil {
		btg = c.BreakGlass.Patient
	}
	for _, p := range x.patients {
		pp := purpose
		if p == btg {
			pp = "BTG"
		}
		if kp.Relationship && x.typ != "Patient" && x.typ != "AuditEvent" {
			if !(c.Organization != "" && slices.Contains(w.caring[p], c.Organization)) && p != btg {
				return false
			}
		}
		for _, k := range w.consents[p] {
			if k.kind == "optout" {
				if pol.Purposes[purpose] == access.Secondary {
					return false
				}
				continue
			}
			if !kp.Consent || x.typ == "Patient" {
				continue
			}
			org := c.Organization
			switch k.kind {
			case "outside":
				if org == "" || org != k.org {
					return false
				}
			case "org":
				if org != "" && org == k.org {
					return false
				}
			case "practitioner":
				if c.Practitioner != "" && c.Practitioner == k.pract {
					return false
				}
			case "btg":
				if pp != "BTG" && (org == "" || org != k.org) {
					return false
				}
			}
		}
	}
	return true
}

func TestPropertySQLite(t *testing.T) { testProperty(t, openSQLite) }

func TestPropertyPostgres(t *testing.T) { testProperty(t, openPostgres) }

func testProperty(t *testing.T, open func(testing.TB) *db) {
	pol := access.DefaultPolicy()
	dec := decider()
	decided, visibleSeen := 0, 0
	for seed := range 4 {
		r := rand.New(rand.NewPCG(uint64(seed), 99))
		w := genWorld(r)
		d := open(t)
		d.put(t, w.bodies...)
		for range 60 {
			pc := genCaller(r)
			dc, err := dec.Decide(pc.c, access.Action{Interaction: access.Search})
			if err != nil {
				continue
			}
			decided++
			var want []string
			for _, x := range w.res {
				if refVisible(pol, pc, w, x) {
					want = append(want, x.typ+"/"+x.id)
				}
			}
			sort.Strings(want)
			visibleSeen += len(want)
			got := d.visible(t, dc.Filter, "")
			if !slices.Equal(got, want) {
				t.Fatalf("seed %d caller %+v scopes %v:\n got %v\nwant %v\nonly SQL: %v\nonly Go: %v", seed, *pc.c, pc.c.Scopes, got, want, minus(got, want), minus(want, got))
			}
			for _, typ := range []string{"Observation", "Patient", "Consent"} {
				dt, err := dec.Decide(pc.c, access.Action{Interaction: access.Search, Type: typ})
				if err != nil {
					continue
				}
				got := d.visible(t, dt.Filter, typ)
				var wantT []string
				for _, x := range want {
					if typeOf(`{"resourceType":"`+x[:slices.Index([]byte(x), '/')]+`"`) == typ {
						wantT = append(wantT, x)
					}
				}
				if !slices.Equal(got, wantT) {
					t.Fatalf("seed %d caller %+v type %s:\n got %v\nwant %v", seed, *pc.c, typ, got, wantT)
				}
			}
		}
	}
	if decided < 60 || visibleSeen == 0 {
		t.Fatalf("the generator produced too few allowed callers (%d) or nothing visible (%d)", decided, visibleSeen)
	}
	t.Logf("%d callers decided, %d visible resources compared", decided, visibleSeen)
}

func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
