package validate

import (
	"testing"
)

// TestFastLexical checks the hand-written checks against the spec
// regexes they replace.
func TestFastLexical(t *testing.T) {
	inputs := []string{"", "a", "a b", "a  b", " a", "a ", "a\tb", "a\fb", "http://x", "http://x y", "abc-DEF.1",
		"a_b", string(make([]byte, 65)), "0123456789012345678901234567890123456789012345678901234567890123",
		"01234567890123456789012345678901234567890123456789012345678901234", "é", "a\u00a0b",
		"2020", "0000", "2020-", "2020-1", "2020-00", "2020-13", "2020-12", "2020-12-00", "2020-12-31", "2020-12-32", "2020-02-30",
		"2020-12-31T", "2020-12-31T10:00:00", "2020-12-31T10:00:00Z", "2020-12T10:00:00Z", "2020-12-31T24:00:00Z",
		"2020-12-31T23:59:60.123+14:00", "2020-12-31T23:59:59.+01:00", "2020-12-31T23:59:59+14:01", "2020-12-31T23:59:59-13:59",
		"2020-12-31T23:59:59+1:00", "2020-12-31T23:60:00Z", "10:00:00", "10:00", "23:59:60.5", "24:00:00", "10:00:00Z", "1:00:00"}
	if len(fastTypes) == 0 {
		t.Fatal("no types have a fast lexical check")
	}
	for typ := range fastTypes {
		re := lexical(typ)
		for _, s := range inputs {
			if got, want := fastLexical(typ, s), re.MatchString(s); got != want {
				t.Errorf("fastLexical(%s, %q) = %v, regex says %v", typ, s, got, want)
			}
		}
	}
}
