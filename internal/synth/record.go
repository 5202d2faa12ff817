package synth

import (
	"fmt"
	"math"
	"sort"
	"time"
)

// rec builds one patient's record. It owns the patient's random stream and
// id counter, so the record depends on nothing outside (Seed, i) and the
// shared organisations.
type rec struct {
	g      *Generator
	r      *rng
	i      int
	k      uint64
	p      person
	pid    string
	subj   reference
	gp     *org
	trust  *org
	centre *org
	out    []item
	start  time.Time // first day of the record window
	end    time.Time // last moment of the record window (Epoch or death)

	chronic []chronicProblem
}

type chronicProblem struct {
	term
	id    string
	onset time.Time
}

const streamRecord = 2

func (b *rec) newID() string {
	b.k++
	return uuidFor(b.g.seed, uint64(b.i), b.k)
}

func (b *rec) add(typ, id string, v any) { b.out = append(b.out, marshal(typ, id, v)) }

// intensity classes give the skewed size distribution: most people have
// small records and a few have very long ones (repeated admissions with
// hourly observations). Rates are per year of record.
var intensities = []struct {
	share                     float64
	gp, ed, admit, refer, sev float64
}{
	{0.50, 1.0, 0.05, 0.01, 0.04, 0.30},
	{0.30, 3.0, 0.20, 0.06, 0.15, 0.40},
	{0.15, 6.0, 0.50, 0.25, 0.35, 0.55},
	{0.05, 10.0, 1.00, 0.75, 0.60, 0.70},
}

func (g *Generator) patientItems(i int) []item {
	if i < 0 || i >= g.n {
		panic(fmt.Sprintf("synth: Patient(%d) out of range [0, %d)", i, g.n))
	}
	b := &rec{g: g, r: newRNG(g.seed, streamRecord, uint64(i)), i: i}
	b.pid = uuidFor(g.seed, uint64(i), 0)
	b.subj = reference{Reference: "Patient/" + b.pid}
	if j, ok := g.DuplicateOf(i); ok {
		b.duplicateRecord(j)
		return b.out
	}
	b.p = g.person(i)
	b.gp = &g.practices[b.p.practice]
	b.trust = g.trustFor(b.p.practice)
	b.centre = &g.centres[b.r.intn(len(g.centres))]
	b.end = Epoch
	if b.p.deceased {
		b.end = Epoch.Add(-time.Duration(b.r.between(1, 365*24)) * time.Hour)
	}
	b.start = b.end.AddDate(-10, 0, 0)
	if b.start.Before(b.p.birth) {
		b.start = b.p.birth.Add(24 * time.Hour)
	}
	b.add("Patient", b.pid, b.patientResource(b.p, b.gp, "01", "Number present and verified", true))
	b.chronicProblems()
	b.allergies()
	b.events()
	return b.out
}

func (b *rec) patientResource(p person, managing *org, status, statusDisplay string, withNHS bool) patient {
	res := patient{
		ResourceType: "Patient", ID: b.pid, Active: true, Gender: p.gender, BirthDate: date(p.birth),
		Name: []humanName{{Use: "official", Family: p.family, Given: p.given}},
		Address: []address{{Use: "home", Type: "both", Line: p.line, City: p.city, District: p.district,
			PostalCode: p.postcode, Country: "GB"}},
		GeneralPractitioner:  []reference{*refd("Organization", b.gp.id, b.gp.name)},
		ManagingOrganization: refd("Organization", managing.id, managing.name),
	}
	if p.prefix != "" {
		res.Name[0].Prefix = []string{p.prefix}
	}
	if withNHS {
		res.Identifier = append(res.Identifier, identifier{
			Extension: []extension{{
				URL: "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus",
				ValueCodeableConcept: cc("https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland",
					status, statusDisplay),
			}},
			System: "https://fhir.nhs.uk/Id/nhs-number", Value: p.nhs,
		})
	}
	if p.mobile != "" {
		res.Telecom = append(res.Telecom, contactPoint{System: "phone", Value: p.mobile, Use: "mobile", Rank: 1})
	}
	if p.landline != "" {
		res.Telecom = append(res.Telecom, contactPoint{System: "phone", Value: p.landline, Use: "home"})
	}
	if p.email != "" {
		res.Telecom = append(res.Telecom, contactPoint{System: "email", Value: p.email, Use: "home"})
	}
	if p.deceased {
		res.DeceasedDateTime = dateTime(b.end)
	}
	if p.restricted {
		// PDS marks S-flagged patients R; consumers must not disclose the
		// address, telecom or GP onward (NHS-RULES.md §5.4). The custodian
		// still holds them, which is what the label protects.
		res.Meta = &meta{Security: []coding{{System: confSystem, Code: "R", Display: "restricted"}}}
	}
	return res
}

// duplicateRecord makes patient i a second registration of patient j at
// j's acute trust, as an emergency attendance would create when the
// patient's existing record is not found.
func (b *rec) duplicateRecord(j int) {
	orig := b.g.person(j)
	p, keepNHS := duplicate(orig, b.r)
	b.p = p
	b.gp = &b.g.practices[orig.practice]
	b.trust = b.g.trustFor(orig.practice)
	b.centre = &b.g.centres[0]
	b.end = Epoch
	b.start = Epoch.AddDate(-2, 0, 0)
	if b.start.Before(p.birth) {
		b.start = p.birth.Add(24 * time.Hour)
	}
	res := b.patientResource(p, b.trust, "02", "Number present but not traced", keepNHS)
	res.Identifier = append(res.Identifier, identifier{
		Use:    "usual",
		Type:   cc("http://terminology.hl7.org/CodeSystem/v2-0203", "MR", "Medical record number"),
		System: b.trust.mrnSystem, Value: fmt.Sprintf("%c%07d", 'A'+b.r.intn(26), b.r.intn(10000000)),
	})
	b.add("Patient", b.pid, res)
	t := b.randomTime(b.start, b.end)
	b.emergency(t, b.r.float()*0.5)
}

// chronicProblems records the long-term conditions on the GP problem list,
// with prevalence rising with age.
func (b *rec) chronicProblems() {
	age := b.p.age()
	for _, c := range chronicConditions {
		if age < c.minAge {
			continue
		}
		p := float64(c.perMille) / 1000 * (0.5 + float64(age)/60)
		if !b.r.chance(p) {
			continue
		}
		earliest := b.p.birth.AddDate(c.minAge, 0, 0)
		onset := b.randomTime(earliest, b.end)
		id := b.newID()
		staff := b.gpStaff()
		b.chronic = append(b.chronic, chronicProblem{c.term, id, onset})
		b.add("Condition", id, condition{
			ResourceType: "Condition", ID: id,
			ClinicalStatus:     cc("http://terminology.hl7.org/CodeSystem/condition-clinical", "active", "Active"),
			VerificationStatus: cc("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed", "Confirmed"),
			Category:           []concept{ccv("http://terminology.hl7.org/CodeSystem/condition-category", "problem-list-item", "Problem List Item")},
			Code:               cc(sct, c.code, c.display),
			Subject:            b.subj,
			OnsetDateTime:      dateTime(onset),
			RecordedDate:       dateTime(onset.Add(time.Duration(b.r.between(0, 72)) * time.Hour)),
			Recorder:           refd("Practitioner", staff.practitionerID, staff.name),
		})
	}
}

func (b *rec) allergies() {
	n := 0
	if b.r.chance(0.18) {
		n = 1
		if b.r.chance(0.25) {
			n = 2
		}
	}
	for a := 0; a < n; a++ {
		al := pick(b.r, allergies)
		id := b.newID()
		reaction := pick(b.r, reactions)
		severity, criticality := "mild", "low"
		if reaction.code == "39579001" {
			severity, criticality = "severe", "high"
		} else if b.r.chance(0.3) {
			severity = "moderate"
		}
		recorded := b.randomTime(b.start, b.end)
		staff := b.gpStaff()
		b.add("AllergyIntolerance", id, allergyIntolerance{
			ResourceType: "AllergyIntolerance", ID: id,
			ClinicalStatus:     cc("http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "active", "Active"),
			VerificationStatus: cc("http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "confirmed", "Confirmed"),
			Type:               "allergy", Category: []string{al.category}, Criticality: criticality,
			Code:         cc(sct, al.code, al.display),
			Patient:      b.subj,
			RecordedDate: dateTime(recorded),
			Recorder:     refd("Practitioner", staff.practitionerID, staff.name),
			Reaction:     []allergyReaction{{Manifestation: []concept{ccv(sct, reaction.code, reaction.display)}, Severity: severity}},
		})
	}
}

type eventKind int

const (
	evGP eventKind = iota
	evED
	evAdmit
	evRefer
	evFlu
	evVaccine
)

type event struct {
	t    time.Time
	kind eventKind
	n    int // vaccine index for evVaccine
}

// events draws the encounters of the record window and emits them in date
// order.
func (b *rec) events() {
	u := b.r.float()
	in := intensities[len(intensities)-1]
	for _, c := range intensities {
		if u < c.share {
			in = c
			break
		}
		u -= c.share
	}
	years := b.end.Sub(b.start).Hours() / (365.25 * 24)
	f := 0.6 + float64(b.p.age())/60 + 0.15*float64(len(b.chronic))
	var evs []event
	addN := func(kind eventKind, rate float64) {
		for n := poisson(b.r, rate*years*f); n > 0; n-- {
			evs = append(evs, event{t: b.randomTime(b.start, b.end), kind: kind})
		}
	}
	addN(evGP, in.gp)
	addN(evED, in.ed)
	addN(evAdmit, in.admit)
	addN(evRefer, in.refer)
	// Seasonal influenza vaccination for those eligible: 65 and over or
	// with a long-term condition.
	for y := b.start.Year(); y < b.end.Year(); y++ {
		age := y - b.p.birth.Year()
		if (age >= 65 || len(b.chronic) > 0 && age >= 2) && b.r.chance(0.7) {
			t := time.Date(y, time.October, 1, 9, 0, 0, 0, time.UTC).Add(time.Duration(b.r.intn(60*24)) * time.Hour)
			if t.After(b.start) && t.Before(b.end) {
				evs = append(evs, event{t: t, kind: evFlu})
			}
		}
	}
	for v := 1; v < len(vaccines); v++ {
		t := b.p.birth.AddDate(vaccines[v].minAge, 0, b.r.intn(300))
		if t.After(b.start) && t.Before(b.end) && b.r.chance(0.8) {
			evs = append(evs, event{t: t, kind: evVaccine, n: v})
		}
	}
	sort.SliceStable(evs, func(a, c int) bool { return evs[a].t.Before(evs[c].t) })
	for _, e := range evs {
		switch e.kind {
		case evGP:
			b.gpVisit(e.t)
		case evED:
			b.emergency(e.t, b.r.float()*in.sev)
		case evAdmit:
			b.admission(e.t, b.trust, 0.2+b.r.float()*in.sev, "")
		case evRefer:
			b.referral(e.t)
		case evFlu:
			b.immunise(e.t, 0)
		case evVaccine:
			b.immunise(e.t, e.n)
		}
	}
}

// poisson draws a Poisson count; a normal approximation above 30 keeps it
// cheap and free of exp underflow for long, busy records.
func poisson(r *rng, lambda float64) int {
	if lambda <= 0 {
		return 0
	}
	if lambda > 30 {
		return max(0, int(math.Round(r.normal(lambda, math.Sqrt(lambda)))))
	}
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= r.float()
		if p <= l {
			return k
		}
		k++
	}
}

// randomTime returns a time in [from, to), at a whole minute.
func (b *rec) randomTime(from, to time.Time) time.Time {
	span := int64(to.Sub(from) / time.Minute)
	if span <= 0 {
		return from.Truncate(time.Minute)
	}
	return from.Truncate(time.Minute).Add(time.Duration(b.r.next()%uint64(span)) * time.Minute)
}

// officeHours moves t to a weekday slot between 08:30 and 17:30 UK local
// time, on a ten-minute boundary.
func officeHours(r *rng, t time.Time) time.Time {
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	for d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
		d = d.AddDate(0, 0, 1)
	}
	local := d.Add(time.Duration(8*60+30+r.intn(9*60)/10*10) * time.Minute)
	return local.Add(-time.Duration(ukOffset(local)) * time.Second)
}

func (b *rec) gpStaff() *staffMember {
	return &b.gp.staff[b.r.intn(len(b.gp.staff))]
}

func (b *rec) consultant(o *org, specialty int) *staffMember {
	for k := range o.staff {
		if o.staff[k].specialty == specialty && !o.staff[k].role.nurse {
			return &o.staff[k]
		}
	}
	for k := range o.staff {
		if !o.staff[k].role.nurse {
			return &o.staff[k]
		}
	}
	return &o.staff[0]
}

func (b *rec) nurse(o *org) *staffMember {
	for k := len(o.staff) - 1; k >= 0; k-- {
		if o.staff[k].role.nurse {
			if b.r.chance(0.5) || k == 0 {
				return &o.staff[k]
			}
		}
	}
	return &o.staff[len(o.staff)-1]
}
