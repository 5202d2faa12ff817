package match

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// normName folds a name for comparison: Unicode NFD with combining marks
// dropped (so "Zoë" and "Zoe" agree), lower case, and every run of
// characters that is not a letter (space, hyphen, apostrophe, full stop)
// turned into one space. "O'Brien", "o brien" and "OBrien" therefore
// differ only by spaces, which joined() removes.
func normName(s string) string {
	var b strings.Builder
	gap := false
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case unicode.IsLetter(r):
			if gap && b.Len() > 0 {
				b.WriteByte(' ')
			}
			gap = false
			b.WriteRune(foldLetter(unicode.ToLower(r)))
		default:
			gap = true
		}
	}
	return b.String()
}

// foldLetter maps the letters NFD does not decompose to the ASCII letter a
// clerk typing on a UK keyboard would use.
func foldLetter(r rune) rune {
	switch r {
	case 'ø':
		return 'o'
	case 'ł':
		return 'l'
	case 'đ':
		return 'd'
	case 'ß':
		return 's'
	case 'æ':
		return 'a'
	}
	return r
}

// joined removes the spaces normName leaves, so the hyphenated, spaced and
// run-together spellings of a double-barrelled name are equal.
func joined(s string) string { return strings.ReplaceAll(s, " ", "") }

// soundex is the American Soundex code (US National Archives rules: first
// letter kept, consonants coded 1-6, vowels separate equal codes, H and W
// do not, padded or cut to four characters). It is applied to a folded
// ASCII name; names with no letter code as "".
func soundex(s string) string {
	s = joined(s)
	if s == "" {
		return ""
	}
	code := func(r rune) byte {
		switch r {
		case 'b', 'f', 'p', 'v':
			return '1'
		case 'c', 'g', 'j', 'k', 'q', 's', 'x', 'z':
			return '2'
		case 'd', 't':
			return '3'
		case 'l':
			return '4'
		case 'm', 'n':
			return '5'
		case 'r':
			return '6'
		case 'h', 'w':
			return 'h'
		}
		return 0 // vowels, y, and anything else
	}
	rs := []rune(s)
	out := []byte{byte(unicode.ToUpper(rs[0]))}
	if rs[0] > unicode.MaxASCII {
		out[0] = '?'
	}
	last := code(rs[0])
	for _, r := range rs[1:] {
		c := code(r)
		switch c {
		case 'h':
			continue // H and W do not separate letters with one code
		case 0:
			last = 0
			continue
		}
		if c != last {
			out = append(out, c)
			if len(out) == 4 {
				break
			}
		}
		last = c
	}
	for len(out) < 4 {
		out = append(out, '0')
	}
	return string(out)
}

// damerau is the optimal-string-alignment Damerau-Levenshtein distance:
// insertions, deletions, substitutions and transpositions of adjacent
// letters each cost one. Transposed letters are the commonest keying slip
// in registration data, which is why plain Levenshtein (cost two) is not
// used.
func damerau(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	n, m := len(ra), len(rb)
	d := make([][]int, n+1)
	for i := range d {
		d[i] = make([]int, m+1)
		d[i][0] = i
	}
	for j := 0; j <= m; j++ {
		d[0][j] = j
	}
	for i := 1; i <= n; i++ {
		for j := 1; j <= m; j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[n][m]
}

// jaroWinkler is the Jaro-Winkler similarity in [0,1] with the usual
// prefix scale 0.1 over at most four letters (Winkler 1990), which rewards
// agreement at the start of a name, where clerical errors are rarest.
func jaroWinkler(a, b string) float64 {
	ra, rb := []rune(a), []rune(b)
	if len(ra) == 0 || len(rb) == 0 {
		return 0
	}
	window := max(len(ra), len(rb))/2 - 1
	window = max(window, 0)
	ma, mb := make([]bool, len(ra)), make([]bool, len(rb))
	matches := 0
	for i := range ra {
		lo, hi := max(0, i-window), min(len(rb), i+window+1)
		for j := lo; j < hi; j++ {
			if !mb[j] && ra[i] == rb[j] {
				ma[i], mb[j] = true, true
				matches++
				break
			}
		}
	}
	if matches == 0 {
		return 0
	}
	trans, j := 0, 0
	for i := range ra {
		if !ma[i] {
			continue
		}
		for !mb[j] {
			j++
		}
		if ra[i] != rb[j] {
			trans++
		}
		j++
	}
	m := float64(matches)
	jaro := (m/float64(len(ra)) + m/float64(len(rb)) + (m-float64(trans)/2)/m) / 3
	prefix := 0
	for prefix < min(4, len(ra), len(rb)) && ra[prefix] == rb[prefix] {
		prefix++
	}
	return jaro + float64(prefix)*0.1*(1-jaro)
}

// digits keeps the digits of a telephone number and writes the UK country
// code +44 (or 0044) as the national trunk prefix 0, so "+44 7700 900123"
// and "07700 900123" agree.
func digits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	d := b.String()
	switch {
	case strings.HasPrefix(strings.TrimSpace(s), "+44"):
		d = "0" + strings.TrimPrefix(d, "44")
	case strings.HasPrefix(d, "0044"):
		d = "0" + strings.TrimPrefix(d, "0044")
	}
	return d
}

// postcode folds a UK postcode to upper case without spaces; "ls1 4ap",
// "LS14AP" and "LS1 4AP" are one postcode.
func postcode(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// outward returns the outward code of a folded postcode: everything but
// the last three characters (the inward code is always digit letter
// letter).
func outward(pc string) string {
	if len(pc) < 5 {
		return ""
	}
	return pc[:len(pc)-3]
}
