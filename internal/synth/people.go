package synth

import (
	"fmt"
	"strings"
	"time"

	"github.com/nhs-junction/junction/internal/identity/nhsnumber"
)

// person is the demographic core of one patient, derived from (seed, i)
// alone so that a duplicate registration can be made from its original
// without generating the original's record.
type person struct {
	gender     string // FHIR administrative-gender
	given      []string
	family     string
	prefix     string
	birth      time.Time
	deceased   bool
	line       []string
	city       string
	district   string
	postcode   string
	mobile     string
	landline   string
	email      string
	nhs        string
	practice   int // index into Generator.practices
	restricted bool
}

const streamPerson = 1

func (g *Generator) person(i int) person {
	r := newRNG(g.seed, streamPerson, uint64(i))
	var p person
	switch x := r.float(); {
	case x < 0.495:
		p.gender = "female"
	case x < 0.99:
		p.gender = "male"
	case x < 0.995:
		p.gender = "other"
	default:
		p.gender = "unknown"
	}
	female := p.gender == "female" || (p.gender != "male" && r.chance(0.5))
	pool := givenMale
	if female {
		pool = givenFemale
	}
	p.given = []string{pick(r, pool)}
	if r.chance(0.35) {
		if second := pick(r, pool); second != p.given[0] {
			p.given = append(p.given, second)
		}
	}
	p.family = pick(r, familyNames)
	switch x := r.float(); {
	case x < 0.05: // double-barrelled with a hyphen
		if other := pick(r, familyNames); other != p.family {
			p.family = other + "-" + p.family
		}
	case x < 0.06: // double-barrelled with a space
		if other := pick(r, familyNames); other != p.family {
			p.family = other + " " + p.family
		}
	}

	// Ages: a broad population pyramid, 0 to 100, skewed to working age.
	age := int(r.float() * r.float() * 60)
	if r.chance(0.6) {
		age = r.between(0, 95)
	}
	days := age*365 + r.intn(365)
	p.birth = Epoch.AddDate(0, 0, -days-1)
	p.deceased = age > 85 && r.chance(0.03)
	switch {
	case age < 16:
	case female:
		p.prefix = pick(r, prefixesFemale)
	case p.gender == "male":
		p.prefix = pick(r, prefixesMale)
	}
	if age >= 30 && r.chance(0.03) {
		p.prefix = "Dr"
	}

	p.practice = r.intn(len(g.practices))
	town := towns[g.practices[p.practice].town]
	p.city = town.city
	p.district = town.district
	p.postcode = postcode(r, town.outward)
	house := fmt.Sprint(r.between(1, 240))
	if r.chance(0.15) {
		p.line = append(p.line, fmt.Sprintf("Flat %d", r.between(1, 40)))
	}
	p.line = append(p.line, house+" "+pick(r, streetNames)+" "+pick(r, streetSuffixes))
	if r.chance(0.2) {
		p.line = append(p.line, pick(r, placeRoots)+pick(r, placeStems))
	}
	// Ofcom reserves 07700 900000-900999 and the 496/7946 ranges for
	// fiction, so no generated number rings a real telephone.
	if age >= 12 && r.chance(0.85) {
		p.mobile = fmt.Sprintf("07700 900%03d", r.intn(1000))
		if r.chance(0.3) {
			p.mobile = "+44 " + p.mobile[1:]
		}
	}
	if r.chance(0.4) {
		p.landline = fmt.Sprintf("%s %04d", town.dial, r.intn(1000))
	}
	if age >= 16 && r.chance(0.3) {
		p.email = strings.ToLower(asciiOnly(p.given[0])+"."+asciiOnly(p.family)) + fmt.Sprintf("%d@example.com", r.intn(100))
	}
	p.nhs = nhsnumber.FromSerial(g.serial(i))
	p.restricted = r.chance(0.01)
	return p
}

// serial spreads patient indexes over the NHS number test range with a
// seed-dependent offset; 7919 is prime and coprime to nhsnumber.Serials,
// so the map is a bijection and no two patients share a number.
func (g *Generator) serial(i int) int {
	off := int(uint64(g.seed) % nhsnumber.Serials)
	return int((uint64(i)*7919 + uint64(off)) % nhsnumber.Serials)
}

// postcode builds a postcode in the town: an outward code from the town's
// districts, a space, then digit letter letter.
func postcode(r *rng, outward []string) string {
	return fmt.Sprintf("%s %d%c%c", pick(r, outward), r.intn(10),
		inwardLetters[r.intn(len(inwardLetters))], inwardLetters[r.intn(len(inwardLetters))])
}

// asciiOnly keeps the letters an e-mail local part can carry without
// quoting; accented letters are dropped rather than transliterated.
func asciiOnly(s string) string {
	var b strings.Builder
	for _, c := range s {
		if c < 128 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			b.WriteRune(c)
		}
	}
	return b.String()
}

func (p *person) age() int {
	y := Epoch.Year() - p.birth.Year()
	if Epoch.YearDay() < p.birth.YearDay() {
		y--
	}
	return y
}

// nameText is the name as it would be printed.
func (p *person) nameText() string {
	s := strings.Join(p.given, " ") + " " + p.family
	if p.prefix != "" {
		s = p.prefix + " " + s
	}
	return s
}

// duplicate returns the demographics a second registration of p would carry
// at another organisation: the slips a receptionist makes when copying
// details from a patient at the desk.
func duplicate(p person, r *rng) (d person, keepNHS bool) {
	d = p
	d.given = append([]string(nil), p.given...)
	d.line = append([]string(nil), p.line...)
	// One or two of the typical errors, never none.
	switch r.intn(3) {
	case 0:
		d.family = transpose(r, d.family)
	case 1:
		d.given[0] = transpose(r, d.given[0])
	default:
		d.family = transpose(r, d.family)
		d.given[0] = transpose(r, d.given[0])
	}
	// Day and month swapped, which is only possible when the day could be a
	// month and differs from it.
	if day, month := d.birth.Day(), int(d.birth.Month()); day <= 12 && day != month {
		if r.chance(0.7) {
			d.birth = time.Date(d.birth.Year(), time.Month(day), month, 0, 0, 0, 0, time.UTC)
		}
	}
	switch r.intn(3) {
	case 0:
		d.postcode = strings.ReplaceAll(d.postcode, " ", "")
	case 1:
		d.postcode = strings.ToLower(d.postcode)
	default:
		d.postcode = strings.ToLower(strings.ReplaceAll(d.postcode, " ", ""))
	}
	d.email = ""
	d.restricted = false
	return d, r.chance(0.6)
}

// transpose swaps two adjacent letters of s, choosing a pair that differs
// so the result really changes.
func transpose(r *rng, s string) string {
	rs := []rune(s)
	var pairs []int
	// Keep the first letter: a slip inside a word is the common error, and
	// a lower-case initial would be an implausible capitalisation change.
	for i := 1; i+1 < len(rs); i++ {
		if rs[i] != rs[i+1] && rs[i] != ' ' && rs[i+1] != ' ' && rs[i] != '-' && rs[i+1] != '-' {
			pairs = append(pairs, i)
		}
	}
	if len(pairs) == 0 {
		return s
	}
	i := pick(r, pairs)
	rs[i], rs[i+1] = rs[i+1], rs[i]
	return string(rs)
}
