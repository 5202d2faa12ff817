package fhirmap

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // HL7 times without an offset are read in Europe/London wherever the server runs

	"github.com/nhs-junction/junction/internal/hl7v2"
	"github.com/nhs-junction/junction/internal/identity/nhsnumber"
)

// london is the zone of HL7 times sent without an offset: NHS feeds send
// local time (the ITK specification's examples carry no offset).
var london = func() *time.Location {
	l, err := time.LoadLocation("Europe/London")
	if err != nil {
		return time.UTC
	}
	return l
}()

// hl7Time is a parsed HL7 TS/DTM value (HL7 v2.5.1 2.A.22, 2.A.74):
// YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ].
type hl7Time struct {
	t    time.Time
	prec int // 4 year, 6 month, 8 day, 12 minute, 14 second
}

// parseTS reads an HL7 date or timestamp. ok is false for a value that is
// not one (month 13, letters, slashes).
func parseTS(s string) (hl7Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return hl7Time{}, false
	}
	// v2.3 TS carries a degree of precision as a second component; the
	// caller passes component 1 only.
	zone := london
	if i := strings.IndexAny(s, "+-"); i >= 0 {
		off := s[i:]
		s = s[:i]
		if len(off) != 5 {
			return hl7Time{}, false
		}
		h, err1 := strconv.Atoi(off[1:3])
		m, err2 := strconv.Atoi(off[3:5])
		if err1 != nil || err2 != nil || h > 14 || m > 59 {
			return hl7Time{}, false
		}
		secs := h*3600 + m*60
		if off[0] == '-' {
			secs = -secs
		}
		zone = time.FixedZone("", secs)
	}
	frac := ""
	if i := strings.IndexByte(s, '.'); i >= 0 {
		s, frac = s[:i], s[i+1:]
		if len(s) != 14 || frac == "" || len(frac) > 4 || strings.Trim(frac, "0123456789") != "" {
			return hl7Time{}, false
		}
	}
	if strings.Trim(s, "0123456789") != "" {
		return hl7Time{}, false
	}
	prec := len(s)
	switch prec {
	case 4, 6, 8, 10, 12, 14:
	default:
		return hl7Time{}, false
	}
	num := func(a, b int, def int) int {
		if len(s) < b {
			return def
		}
		n, _ := strconv.Atoi(s[a:b])
		return n
	}
	y, mo, d := num(0, 4, 0), num(4, 6, 1), num(6, 8, 1)
	hh, mi, ss := num(8, 10, 0), num(10, 12, 0), num(12, 14, 0)
	if mo < 1 || mo > 12 || d < 1 || d > 31 || hh > 23 || mi > 59 || ss > 59 {
		return hl7Time{}, false
	}
	ns := 0
	if frac != "" {
		f, _ := strconv.Atoi((frac + "000000000")[:9])
		ns = f
	}
	t := time.Date(y, time.Month(mo), d, hh, mi, ss, ns, zone)
	if t.Day() != d || int(t.Month()) != mo {
		return hl7Time{}, false // 31 April
	}
	if prec == 10 {
		prec = 12
	}
	return hl7Time{t: t, prec: prec}, true
}

// date renders the FHIR date of t (at most day precision).
func (h hl7Time) date() string {
	switch {
	case h.prec <= 4:
		return h.t.Format("2006")
	case h.prec <= 6:
		return h.t.Format("2006-01")
	}
	return h.t.Format("2006-01-02")
}

// dateTime renders the FHIR dateTime of t: a date alone at day precision
// or coarser, else a time with seconds and offset (FHIR R4 dateTime
// requires both once a time is given).
func (h hl7Time) dateTime() string {
	if h.prec <= 8 {
		return h.date()
	}
	if h.t.Nanosecond() != 0 {
		return h.t.Format("2006-01-02T15:04:05.000Z07:00")
	}
	return h.t.Format("2006-01-02T15:04:05Z07:00")
}

// instant renders a FHIR instant, which needs at least seconds; ok is
// false for a coarser value.
func (h hl7Time) instant() (string, bool) {
	if h.prec < 12 {
		return "", false
	}
	return h.dateTime(), true
}

// value reads the first subcomponent of a component of one repetition,
// trimmed; the HL7 null "" reads as empty.
func value(c hl7v2.Component) string {
	if c.IsNull() {
		return ""
	}
	return strings.TrimSpace(c.String())
}

// comp is value of component i of r.
func comp(r hl7v2.Rep, i int) string { return value(r.Component(i)) }

// reps returns a field's repetitions that carry something.
func reps(f hl7v2.Field) []hl7v2.Rep {
	var out []hl7v2.Rep
	for _, r := range f.Reps() {
		if !r.IsEmpty() && string(r.Raw()) != hl7v2.Null {
			out = append(out, r)
		}
	}
	return out
}

// fieldTS reads a TS/DTM field (component 1 of the first repetition).
// Absent gives ok=false and err=nil; present but unreadable gives an
// *Error at the field.
func fieldTS(s *hl7v2.Segment, occ, field int) (hl7Time, bool, error) {
	if s == nil {
		return hl7Time{}, false, nil
	}
	v := comp(s.Field(field).Rep(1), 1)
	if v == "" {
		return hl7Time{}, false, nil
	}
	t, ok := parseTS(v)
	if !ok {
		return hl7Time{}, false, errAt(s.Name, occ, field, 1, 1, CodeDataType, "%q is not an HL7 date/time (YYYY[MM[DD[HHMM[SS[.SSSS]]]]][+/-ZZZZ])", clip(v))
	}
	return t, true, nil
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

// codeable is a FHIR CodeableConcept built from a CE/CWE repetition
// (HL7 v2.5.1 2.A.8, 2.A.13): identifier^text^coding system and the
// alternate triple in components 4-6. Nil when the repetition is empty.
func codeable(r hl7v2.Rep, f Facility, facility string) map[string]any {
	var codings []any
	for _, base := range []int{1, 4} {
		code, text, sys := comp(r, base), comp(r, base+1), comp(r, base+2)
		if code == "" {
			continue
		}
		c := map[string]any{"system": f.codeSystem(facility, sys), "code": code}
		if text != "" {
			c["display"] = text
		}
		codings = append(codings, c)
	}
	text := comp(r, 2)
	if len(codings) == 0 && text == "" {
		return nil
	}
	out := map[string]any{}
	if len(codings) > 0 {
		out["coding"] = codings
	}
	if text != "" {
		out["text"] = text
	}
	return out
}

// xcn reads an XCN (extended composite id and name for persons, HL7
// v2.5.1 2.A.88) into a Reference by identifier and display: a GMC
// consultant code or GMP GP code gets its national system when the
// assigning authority (XCN.9) or the code's shape says which it is.
func xcn(r hl7v2.Rep) map[string]any {
	id, family, given, prefix := comp(r, 1), comp(r, 2), comp(r, 3), comp(r, 6)
	auth := strings.ToUpper(comp(r, 9))
	out := map[string]any{}
	if id != "" {
		ident := map[string]any{"value": id}
		switch {
		case isCode(id, 'G', 7):
			// A GP's national code (GMP): G and seven digits.
			ident["system"] = GMPSystem
		case isCode(id, 'C', 7) && (auth == "" || strings.HasPrefix(auth, "GMC")):
			// A consultant code: C and the seven-digit GMC number.
			ident["system"] = GMCSystem
			ident["value"] = id[1:]
		case strings.HasPrefix(auth, "GMC") && len(id) == 7 && strings.Trim(id, "0123456789") == "":
			ident["system"] = GMCSystem
		}
		out["identifier"] = ident
	}
	name := strings.TrimSpace(strings.Join(nonEmpty(prefix, given, family), " "))
	if name != "" {
		out["display"] = name
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// isCode reports whether s is letter followed by n digits (C1234567, G1234567).
func isCode(s string, letter byte, n int) bool {
	if len(s) != n+1 || s[0] != letter {
		return false
	}
	return strings.Trim(s[1:], "0123456789") == ""
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func fmtLoc(seg string, field int) string { return fmt.Sprintf("%s-%d", seg, field) }

func nhsValid(s string) bool { return nhsnumber.Valid(s) }
