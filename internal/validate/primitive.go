package validate

import (
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/fhir/spec"
)

// jsonKind is the JSON type of each primitive (R4 json.html): booleans
// and numbers are native, every other primitive is a string.
func jsonKind(typ string) kind {
	switch typ {
	case "boolean":
		return jBool
	case "integer", "positiveInt", "unsignedInt", "decimal":
		return jNumber
	}
	return jString
}

var (
	regexMu sync.Mutex
	regexes = map[string]*regexp.Regexp{}
)

// lexical returns the anchored regex of primitive typ from the
// specification, or nil when it has none.
func lexical(typ string) *regexp.Regexp {
	regexMu.Lock()
	defer regexMu.Unlock()
	if re, ok := regexes[typ]; ok {
		return re
	}
	var re *regexp.Regexp
	if src := spec.PrimitiveRegex(typ); src != "" {
		re = regexp.MustCompile(`^(?:` + src + `)$`)
	}
	regexes[typ] = re
	return re
}

// primitive checks a value of a FHIR primitive type: its JSON type, then
// its lexical form.
func (c *checker) primitive(v *value, typ, path string) {
	want := jsonKind(typ)
	if v.kind != want {
		c.errorf(fhir.IssueStructure, path, "%s value must be a JSON %s, not %s", typ, want, v.kind)
		return
	}
	switch want {
	case jBool:
		return
	case jNumber:
		c.number(v.s, typ, path)
		return
	}
	s := v.s
	if s == "" {
		c.errorf(fhir.IssueValue, path, "%s value must not be empty; omit the element instead", typ)
		return
	}
	if i := strings.IndexFunc(s, badControl); i >= 0 {
		c.errorf(fhir.IssueValue, path, "%s value contains control character U+%04X at byte %d", typ, s[i], i)
		return
	}
	switch typ {
	case "string", "markdown":
		// Their regex, [ \r\n\t\S]+, admits any non-empty text without
		// form feeds, which the control-character check already covers.
		if strings.TrimSpace(s) == "" {
			// datatypes.html: strings SHOULD always contain
			// non-whitespace content.
			c.add(fhir.SeverityWarning, fhir.IssueValue, path, "%s value is only whitespace", typ)
		}
		return
	case "xhtml":
		return
	}
	if re := lexical(typ); re != nil && !re.MatchString(s) {
		c.errorf(fhir.IssueValue, path, "%q is not a valid %s", clip(s), typ)
		return
	}
	switch typ {
	case "date", "dateTime", "instant":
		if !realDate(s) {
			c.errorf(fhir.IssueValue, path, "%q is not a calendar date", clip(s))
		}
	}
}

// badControl reports control characters that FHIR strings must not hold:
// datatypes.html allows only tab, carriage return and line feed below
// U+0020.
func badControl(r rune) bool {
	return r < 0x20 && r != '\t' && r != '\r' && r != '\n'
}

// number checks the text of a JSON number against the lexical form and
// range of typ. integer is a signed 32-bit value; positiveInt and
// unsignedInt are limited to the same maximum (datatypes.html).
func (c *checker) number(s, typ, path string) {
	if re := lexical(typ); re != nil && !re.MatchString(s) {
		c.errorf(fhir.IssueValue, path, "%s is not a valid %s", clip(s), typ)
		return
	}
	if typ == "decimal" {
		return
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		c.errorf(fhir.IssueValue, path, "%s is outside the 32-bit range of %s", clip(s), typ)
		return
	}
	if typ == "positiveInt" && n < 1 || typ == "unsignedInt" && n < 0 {
		c.errorf(fhir.IssueValue, path, "%s is not a valid %s", s, typ)
	}
}

// realDate checks that the year-month-day prefix of a date, dateTime or
// instant that already matched its regex names a day that exists.
func realDate(s string) bool {
	if len(s) < 10 {
		return true // year or year-month only
	}
	y, _ := strconv.Atoi(s[0:4])
	m, _ := strconv.Atoi(s[5:7])
	d, _ := strconv.Atoi(s[8:10])
	return d <= daysIn(y, m)
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:61] + "..."
	}
	return s
}
