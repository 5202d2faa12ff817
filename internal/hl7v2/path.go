package hl7v2

import "strings"

// termPath is a parsed terser path; every index is 1-based and defaults to 1.
type termPath struct {
	seg                   string
	occ, field, rep, comp int
	sub                   int
}

// parsePath parses "SEG(occ)-field(rep).comp.sub" (withSeg) or "field(rep).comp.sub".
// Component and subcomponent may be introduced by '.' or '-'.
func parsePath(path string, withSeg bool) (termPath, bool) {
	p := termPath{occ: 1, rep: 1, comp: 1, sub: 1}
	s := path
	if withSeg {
		s = strings.TrimPrefix(s, "/")
		s = strings.TrimPrefix(s, ".")
		if len(s) < 3 || !isSegmentName(s[:3]) {
			return p, false
		}
		p.seg, s = s[:3], s[3:]
		var ok bool
		if p.occ, s, ok = paren(s); !ok {
			return p, false
		}
		if len(s) == 0 || s[0] != '-' {
			return p, false
		}
		s = s[1:]
	}
	var ok bool
	if p.field, s, ok = number(s); !ok {
		return p, false
	}
	if p.rep, s, ok = paren(s); !ok {
		return p, false
	}
	for _, dst := range []*int{&p.comp, &p.sub} {
		if s == "" {
			return p, true
		}
		if s[0] != '.' && s[0] != '-' {
			return p, false
		}
		if *dst, s, ok = number(s[1:]); !ok {
			return p, false
		}
	}
	return p, s == ""
}

// number reads a positive decimal number of at most 5 digits from the start of s.
func number(s string) (int, string, bool) {
	n, i := 0, 0
	for i < len(s) && i < 5 && '0' <= s[i] && s[i] <= '9' {
		n = n*10 + int(s[i]-'0')
		i++
	}
	if i == 0 || n == 0 || (i < len(s) && '0' <= s[i] && s[i] <= '9') {
		return 0, s, false
	}
	return n, s[i:], true
}

// paren reads an optional "(n)"; absent, it yields 1.
func paren(s string) (int, string, bool) {
	if s == "" || s[0] != '(' {
		return 1, s, true
	}
	n, rest, ok := number(s[1:])
	if !ok || rest == "" || rest[0] != ')' {
		return 0, s, false
	}
	return n, rest[1:], true
}

// isSegmentName reports whether s is a segment id: an upper-case letter followed by two
// upper-case letters or digits (HL7 v2.5.1 section 2.5.2; Z segments follow the same form).
func isSegmentName(s string) bool {
	if len(s) != 3 || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 1; i < 3; i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}
