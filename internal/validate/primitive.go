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
	valid := fastTypes[typ] && fastLexical(typ, s)
	if !fastTypes[typ] {
		re := lexical(typ)
		valid = re == nil || re.MatchString(s)
	}
	if !valid {
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

// fastTypes are the primitives whose spec regex fastLexical implements
// directly; they are the most frequent values in resources, and RE2
// matching dominated validation time for them.
var fastTypes = map[string]bool{"code": true, "uri": true, "url": true, "canonical": true, "id": true,
	"date": true, "dateTime": true, "instant": true, "time": true}

// fastLexical checks s against the R4 regex of typ, one of fastTypes.
//
//	code: [^\s]+(\s[^\s]+)*   uri, url, canonical: \S*   id: [A-Za-z0-9\-\.]{1,64}
func fastLexical(typ, s string) bool {
	switch typ {
	case "code":
		// Non-empty, no leading or trailing whitespace, and whitespace
		// only as single characters between non-whitespace runs.
		prevSpace := true
		for i := 0; i < len(s); i++ {
			sp := isSpace(s[i])
			if sp && prevSpace {
				return false
			}
			prevSpace = sp
		}
		return !prevSpace
	case "uri", "url", "canonical":
		for i := 0; i < len(s); i++ {
			if isSpace(s[i]) {
				return false
			}
		}
	case "date", "dateTime", "instant":
		return dateLexical(typ, s)
	case "time":
		rest, ok := clock(s)
		return ok && rest == ""
	case "id":
		if len(s) == 0 || len(s) > 64 {
			return false
		}
		for i := 0; i < len(s); i++ {
			c := s[i]
			if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
				return false
			}
		}
	}
	return true
}

// isSpace is RE2's \s: tab, newline, form feed, carriage return, space.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}

// dateLexical implements the R4 regexes of date (YYYY, YYYY-MM or
// YYYY-MM-DD, year 0001 to 9999), dateTime (a date, or a full date with
// a time and zone) and instant (full date, time and zone).
func dateLexical(typ, s string) bool {
	if len(s) < 4 || !digits(s[:4]) || s[:4] == "0000" {
		return false
	}
	s = s[4:]
	n := 0 // date parts after the year
	for n < 2 && len(s) > 0 && s[0] == '-' {
		if len(s) < 3 || !digits(s[1:3]) {
			return false
		}
		v := int(s[1]-'0')*10 + int(s[2]-'0')
		if v < 1 || n == 0 && v > 12 || n == 1 && v > 31 {
			return false
		}
		s = s[3:]
		n++
	}
	if s == "" {
		return typ != "instant"
	}
	if typ == "date" || n != 2 || s[0] != 'T' {
		return false
	}
	rest, ok := clock(s[1:])
	if !ok {
		return false
	}
	switch {
	case rest == "Z":
		return true
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':' && digits(rest[1:3]) && digits(rest[4:6]):
		h, m := int(rest[1]-'0')*10+int(rest[2]-'0'), int(rest[4]-'0')*10+int(rest[5]-'0')
		return m <= 59 && (h <= 13 || h == 14 && m == 0)
	}
	return false
}

// clock reads hh:mm:ss(.f+)? with hours 00-23, minutes 00-59 and
// seconds 00-60, returning what follows.
func clock(s string) (string, bool) {
	if len(s) < 8 || s[2] != ':' || s[5] != ':' || !digits(s[0:2]) || !digits(s[3:5]) || !digits(s[6:8]) {
		return "", false
	}
	if s[0:2] > "23" || s[3:5] > "59" || s[6:8] > "60" {
		return "", false
	}
	s = s[8:]
	if len(s) > 0 && s[0] == '.' {
		i := 1
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 1 {
			return "", false
		}
		s = s[i:]
	}
	return s, true
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
