// Package match scores how likely two Patient resources describe the same
// person, for Patient/$match (FHIR R4 patient-operation-match) and the
// IHE PDQm profile that uses it. It is pure: no store, no clock.
//
// An NHS number shared by both records decides the match (certain), and
// two different valid NHS numbers rule it out (certainly-not). Otherwise
// the score is a weighted agreement of demographics: each field compared
// gives a similarity in [0,1], and the score is the weighted mean over the
// fields both records carry. Grades come from published thresholds plus
// minimum evidence, so that no demographic match alone is ever certain:
// certain is the grade that lets a record be linked automatically (FHIR
// match-grade: "automatically considered as a full match"), and a wrong
// automatic link is a top patient-safety hazard (NHS-RULES.md §9).
package match

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/identity/nhsnumber"
)

// Weights of each demographic field in the score. They sum to 1. Birth date
// and family name carry most weight because they are the most stable and
// most discriminating fields of UK registration data; gender and e-mail
// least, because they are often absent or change.
const (
	WeightFamily    = 0.25
	WeightGiven     = 0.20
	WeightBirthDate = 0.25
	WeightGender    = 0.05
	WeightPostcode  = 0.10
	WeightPhone     = 0.10
	WeightEmail     = 0.05
)

// Grade thresholds on the score. A probable grade also needs the minimum
// evidence of MinProbableEvidence.
const (
	ProbableThreshold = 0.80
	PossibleThreshold = 0.60
)

// MinProbableEvidence: a probable match needs family name, given name and
// birth date on both records with family and birth date similarity of at
// least this much and given name at least half of it. Without it a pair
// that agrees only on address and telephone (family members) could score
// high.
const MinProbableEvidence = 0.6

// Similarities of the name rules, from the strongest to the weakest.
const (
	SimNameExact      = 1.0 // equal after folding case, accents, hyphens and spaces
	SimNameOneEdit    = 0.9 // one insertion, deletion, substitution or adjacent transposition
	SimNamePart       = 0.85
	SimNamePhonetic   = 0.8 // same Soundex code
	SimNameTwoEdits   = 0.7 // two edits in a name of at least 6 letters
	SimNameJaro       = 0.7 // Jaro-Winkler of at least JaroThreshold
	SimNameInitial    = 0.5 // an initial against a name with that initial
	SimNamesSwapped   = 0.9 // factor applied when given and family are transposed
	SimMiddleNameOnly = 0.8 // factor when only a later given name agrees
	JaroThreshold     = 0.9
)

// Similarities of the birth date rules.
const (
	SimBirthExact      = 1.0
	SimBirthDayMonth   = 0.8 // day and month transposed
	SimBirthYearDigit  = 0.7 // same day and month, one digit of the year differs
	SimBirthOtherDigit = 0.6 // one digit of the day or the month differs
	SimPostcodeOutward = 0.5 // same outward code (postal district)
)

// Grade is a match-grade code (http://hl7.org/fhir/match-grade).
type Grade string

// The grades.
const (
	Certain      Grade = "certain"
	Probable     Grade = "probable"
	Possible     Grade = "possible"
	CertainlyNot Grade = "certainly-not"
	// NoMatch is below the possible threshold: not a match worth
	// returning, but not known to be another person either.
	NoMatch Grade = ""
)

// unresolvedNHS are UK Core NHS number verification statuses that say the
// number is in doubt (04 trace found no or several matches, 05 the number
// conflicts with the patient's details). NHS-RULES.md §4 says only
// verified numbers should link records; Junction accepts 01 and 02 (a
// number present but not traced is still the number the patient gave),
// but never lets a number marked in doubt decide a match alone.
var unresolvedNHS = map[string]bool{"04": true, "05": true}

// Patient is the folded demographics of one Patient resource.
type Patient struct {
	ID         string
	NHS        []string // valid NHS numbers
	nhsDoubt   bool     // an NHS number carries status 04 or 05
	Family     []string // folded (normName)
	Given      [][]string
	BirthDate  string // YYYY-MM-DD, or "" when absent or partial
	Gender     string // male, female; other and unknown are left out
	Postcodes  []string
	Phones     []string
	Emails     []string
	Identifier []Identifier
}

// Identifier is one Patient.identifier.
type Identifier struct {
	System, Value string
}

// Parse reads the demographics of a Patient resource.
func Parse(raw []byte) (*Patient, error) {
	var r struct {
		ResourceType string `json:"resourceType"`
		ID           string `json:"id"`
		Identifier   []struct {
			System    string `json:"system"`
			Value     string `json:"value"`
			Extension []struct {
				URL                  string `json:"url"`
				ValueCodeableConcept struct {
					Coding []struct {
						Code string `json:"code"`
					} `json:"coding"`
				} `json:"valueCodeableConcept"`
			} `json:"extension"`
		} `json:"identifier"`
		Name []struct {
			Use    string   `json:"use"`
			Family string   `json:"family"`
			Given  []string `json:"given"`
			Text   string   `json:"text"`
		} `json:"name"`
		Gender    string `json:"gender"`
		BirthDate string `json:"birthDate"`
		Telecom   []struct {
			System string `json:"system"`
			Value  string `json:"value"`
		} `json:"telecom"`
		Address []struct {
			PostalCode string `json:"postalCode"`
		} `json:"address"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("match: %w", err)
	}
	if r.ResourceType != "Patient" {
		return nil, fmt.Errorf("match: %s %q is not a Patient", fhir.Article(r.ResourceType), r.ResourceType)
	}
	p := &Patient{ID: r.ID}
	for _, id := range r.Identifier {
		p.Identifier = append(p.Identifier, Identifier{id.System, id.Value})
		if id.System != nhsnumber.System || nhsnumber.Validate(id.Value) != nil {
			continue
		}
		p.NHS = append(p.NHS, id.Value)
		for _, e := range id.Extension {
			for _, c := range e.ValueCodeableConcept.Coding {
				if strings.HasSuffix(e.URL, "NHSNumberVerificationStatus") && unresolvedNHS[c.Code] {
					p.nhsDoubt = true
				}
			}
		}
	}
	for _, n := range r.Name {
		if n.Use == "old" {
			continue // a former name is not evidence against the current one
		}
		if f := normName(n.Family); f != "" {
			p.Family = append(p.Family, f)
		}
		var given []string
		for _, g := range n.Given {
			for _, part := range strings.Fields(normName(g)) {
				given = append(given, part)
			}
		}
		if len(given) > 0 {
			p.Given = append(p.Given, given)
		}
	}
	if _, err := time.Parse("2006-01-02", r.BirthDate); err == nil {
		p.BirthDate = r.BirthDate
	}
	if r.Gender == "male" || r.Gender == "female" {
		p.Gender = r.Gender
	}
	for _, a := range r.Address {
		if pc := postcode(a.PostalCode); pc != "" {
			p.Postcodes = append(p.Postcodes, pc)
		}
	}
	for _, t := range r.Telecom {
		switch t.System {
		case "phone", "sms":
			if d := digits(t.Value); len(d) >= 6 {
				p.Phones = append(p.Phones, d)
			}
		case "email":
			if e := strings.ToLower(strings.TrimSpace(t.Value)); e != "" {
				p.Emails = append(p.Emails, e)
			}
		}
	}
	return p, nil
}

// Result is the outcome of comparing a query with one candidate.
type Result struct {
	Score float64 // in [0,1]
	Grade Grade
	// Fields holds the similarity of each field both records carry, by
	// name (family, given, birthDate, gender, postcode, phone, email).
	Fields map[string]float64
	// Reason says in a few words what decided the grade.
	Reason string
}

// Compare scores candidate c against query q.
func Compare(q, c *Patient) Result {
	demo := demographics(q, c)
	if shared, conflict := nhsAgreement(q, c); conflict {
		return Result{Score: 0, Grade: CertainlyNot, Fields: demo.Fields, Reason: "different NHS numbers"}
	} else if shared {
		contradicted := has(demo.Fields, "birthDate") && demo.Fields["birthDate"] == 0 &&
			has(demo.Fields, "family") && demo.Fields["family"] == 0
		switch {
		case contradicted:
			// The same number on someone with another name and birth date
			// is a keying error or a misallocated number: show it, never
			// link it.
			demo.Grade, demo.Reason = Possible, "same NHS number but family name and birth date disagree"
			demo.Score = max(demo.Score, PossibleThreshold)
		case q.nhsDoubt || c.nhsDoubt:
			demo.Reason = "same NHS number, marked unresolved (verification status 04/05)"
			demo.Score = max(demo.Score, ProbableThreshold)
			demo.Grade = Probable
		default:
			return Result{Score: 1, Grade: Certain, Fields: demo.Fields, Reason: "same NHS number"}
		}
		return demo
	}
	return demo
}

func has(m map[string]float64, k string) bool { _, ok := m[k]; return ok }

// nhsAgreement reports whether the two records share a valid NHS number,
// or carry valid numbers none of which agree.
func nhsAgreement(q, c *Patient) (shared, conflict bool) {
	if len(q.NHS) == 0 || len(c.NHS) == 0 {
		return false, false
	}
	for _, a := range q.NHS {
		for _, b := range c.NHS {
			if a == b {
				return true, false
			}
		}
	}
	return false, true
}

// demographics scores the fields other than the NHS number.
func demographics(q, c *Patient) Result {
	fields := map[string]float64{}
	var sum, weight float64
	add := func(name string, w, sim float64) {
		fields[name] = sim
		sum += w * sim
		weight += w
	}
	if len(q.Family) > 0 && len(c.Family) > 0 && len(q.Given) > 0 && len(c.Given) > 0 {
		fam, giv := bestNames(q, c)
		add("family", WeightFamily, fam)
		add("given", WeightGiven, giv)
	} else if len(q.Family) > 0 && len(c.Family) > 0 {
		add("family", WeightFamily, bestOf(q.Family, c.Family, nameSim))
	}
	if q.BirthDate != "" && c.BirthDate != "" {
		add("birthDate", WeightBirthDate, birthSim(q.BirthDate, c.BirthDate))
	}
	if q.Gender != "" && c.Gender != "" {
		add("gender", WeightGender, boolSim(q.Gender == c.Gender))
	}
	if len(q.Postcodes) > 0 && len(c.Postcodes) > 0 {
		add("postcode", WeightPostcode, bestOf(q.Postcodes, c.Postcodes, postcodeSim))
	}
	if len(q.Phones) > 0 && len(c.Phones) > 0 {
		add("phone", WeightPhone, bestOf(q.Phones, c.Phones, exactSim))
	}
	if len(q.Emails) > 0 && len(c.Emails) > 0 {
		add("email", WeightEmail, bestOf(q.Emails, c.Emails, exactSim))
	}
	r := Result{Fields: fields}
	if weight == 0 {
		r.Reason = "nothing to compare"
		return r
	}
	r.Score = sum / weight
	evidence := fields["family"] >= MinProbableEvidence && fields["birthDate"] >= MinProbableEvidence &&
		fields["given"] >= MinProbableEvidence/2
	switch {
	case r.Score >= ProbableThreshold && evidence:
		r.Grade, r.Reason = Probable, "demographics agree"
	case r.Score >= ProbableThreshold:
		r.Grade, r.Reason = Possible, "demographics agree but name or birth date is missing or weak"
	case r.Score >= PossibleThreshold:
		r.Grade, r.Reason = Possible, "demographics partly agree"
	default:
		r.Reason = "demographics disagree"
	}
	return r
}

// bestNames returns the family and given similarities of the best pairing
// of the two records' names, trying given and family swapped too (a
// common slip when a form puts the surname first).
func bestNames(q, c *Patient) (family, given float64) {
	best := -1.0
	for _, qf := range q.Family {
		for _, cf := range c.Family {
			for _, qg := range q.Given {
				for _, cg := range c.Given {
					f, g := nameSim(qf, cf), givenSim(qg, cg)
					if f+g > best {
						best, family, given = f+g, f, g
					}
					// Swapped: query family against candidate first given.
					sf := nameSim(qf, cg[0]) * SimNamesSwapped
					sg := nameSim(qg[0], cf) * SimNamesSwapped
					if sf+sg > best {
						best, family, given = sf+sg, sf, sg
					}
				}
			}
		}
	}
	return family, given
}

// givenSim compares two lists of given names: the first names count in
// full; agreement only on a later (middle) name counts SimMiddleNameOnly.
func givenSim(a, b []string) float64 {
	best := nameSim(a[0], b[0])
	for i, x := range a {
		for j, y := range b {
			if i == 0 && j == 0 {
				continue
			}
			best = max(best, nameSim(x, y)*SimMiddleNameOnly)
		}
	}
	return best
}

// nameSim is the similarity of two folded names by the rules above.
func nameSim(a, b string) float64 {
	ja, jb := joined(a), joined(b)
	switch {
	case ja == "" || jb == "":
		return 0
	case ja == jb:
		return SimNameExact
	case len([]rune(ja)) == 1 || len([]rune(jb)) == 1:
		if []rune(ja)[0] == []rune(jb)[0] {
			return SimNameInitial
		}
		return 0
	}
	d := damerau(ja, jb)
	if d == 1 && min(len(ja), len(jb)) >= 3 {
		return SimNameOneEdit
	}
	// One part of a double-barrelled or multi-part name against the other
	// record's name ("Smith-Jones" and "Jones").
	pa, pb := strings.Fields(a), strings.Fields(b)
	if len(pa) > 1 || len(pb) > 1 {
		for _, x := range pa {
			for _, y := range pb {
				if x == y && len(x) >= 2 {
					return SimNamePart
				}
			}
		}
	}
	if soundex(ja) == soundex(jb) {
		return SimNamePhonetic
	}
	if d == 2 && min(len(ja), len(jb)) >= 6 {
		return SimNameTwoEdits
	}
	if jaroWinkler(ja, jb) >= JaroThreshold {
		return SimNameJaro
	}
	return 0
}

// birthSim compares two YYYY-MM-DD dates by the rules above.
func birthSim(a, b string) float64 {
	if a == b {
		return SimBirthExact
	}
	ya, ma, da := a[:4], a[5:7], a[8:10]
	yb, mb, db := b[:4], b[5:7], b[8:10]
	switch {
	case ya == yb && ma == db && da == mb:
		return SimBirthDayMonth
	case ma == mb && da == db && digitDiff(ya, yb) == 1:
		return SimBirthYearDigit
	case ya == yb && digitDiff(ma+da, mb+db) == 1:
		return SimBirthOtherDigit
	}
	return 0
}

func digitDiff(a, b string) int {
	n := 0
	for i := range a {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}

func postcodeSim(a, b string) float64 {
	switch {
	case a == b:
		return 1
	case outward(a) != "" && outward(a) == outward(b):
		return SimPostcodeOutward
	}
	return 0
}

func exactSim(a, b string) float64 { return boolSim(a == b) }

func boolSim(ok bool) float64 {
	if ok {
		return 1
	}
	return 0
}

func bestOf(as, bs []string, sim func(a, b string) float64) float64 {
	best := 0.0
	for _, a := range as {
		for _, b := range bs {
			best = max(best, sim(a, b))
		}
	}
	return best
}

// NHSInDoubt reports whether one of the patient's NHS numbers carries a
// verification status that says it is unresolved (04 or 05); such a
// number must not link records on its own.
func (p *Patient) NHSInDoubt() bool { return p.nhsDoubt }
