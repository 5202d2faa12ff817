package searchparam

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Normalize folds s for string search: R4 search.html (3.1.1.4.10,
// string) says matching is case-insensitive and accent-insensitive, so s is
// decomposed (Unicode NFD), its combining marks are dropped, it is
// lower-cased, and runs of white space become one space. Both index values
// and search values pass through Normalize, so "Zoë", "zoe" and "ZOE" all
// match.
func Normalize(s string) string {
	d := norm.NFD.String(s)
	var b strings.Builder
	b.Grow(len(d))
	space := false
	for _, r := range d {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(foldRune(r))
	}
	return b.String()
}

// foldRune lower-cases r, mapping the few letters whose base form is not
// reached by NFD (ß, ø, æ, ł, đ) to the ASCII a searcher would type.
func foldRune(r rune) rune {
	r = unicode.ToLower(r)
	switch r {
	case 'ø':
		return 'o'
	case 'ł':
		return 'l'
	case 'đ':
		return 'd'
	}
	return r
}

// splitEscaped splits s at every sep not preceded by a backslash, keeping
// escapes in the parts: R4 search.html (3.1.1.6, escaping) reserves "\,",
// "\$", "\|" and "\\", and a value is split at "," first, then "$" (for
// composites), then "|" (tokens), so escapes must survive until the last
// split.
func splitEscaped(s string, sep byte) []string {
	var parts []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case sep:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// unescape removes search escapes: "\x" becomes "x" for any x.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
