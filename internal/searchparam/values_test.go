package searchparam

import (
	"testing"
	"time"
)

func TestNormalize(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Zoë", "zoe"},
		{"ZOE", "zoe"},
		{"  Müller   Smith ", "muller smith"},
		{"Renée", "renee"},
		{"Øyvind", "oyvind"},
		{"", ""},
	} {
		if got := Normalize(c.in); got != c.want {
			t.Errorf("Normalize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestSplitEscaped(t *testing.T) {
	got := splitEscaped(`a\,b,c\|d|e`, ',')
	if len(got) != 2 || got[0] != `a\,b` || got[1] != `c\|d|e` {
		t.Fatalf("got %q", got)
	}
	if u := unescape(`a\,b\\c\$`); u != `a,b\c$` {
		t.Fatalf("unescape = %q", u)
	}
}

func mustTime(s string) int64 {
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return tm.UnixMicro()
}

func TestParseDate(t *testing.T) {
	for _, c := range []struct {
		in        string
		low, high string
	}{
		{"2013", "2013-01-01T00:00:00Z", "2014-01-01T00:00:00Z"},
		{"2013-02", "2013-02-01T00:00:00Z", "2013-03-01T00:00:00Z"},
		{"2012-02-29", "2012-02-29T00:00:00Z", "2012-03-01T00:00:00Z"},
		{"2013-01-14T10:00", "2013-01-14T10:00:00Z", "2013-01-14T10:01:00Z"},
		{"2013-01-14T10:00:30+01:00", "2013-01-14T09:00:30Z", "2013-01-14T09:00:31Z"},
		{"2013-01-14T10:00:30.12Z", "2013-01-14T10:00:30.12Z", "2013-01-14T10:00:30.13Z"},
		{"2013-01-14T10:00:30.1234567Z", "2013-01-14T10:00:30.123456Z", "2013-01-14T10:00:30.123457Z"},
		{"2013-12-31T23:59:59-05:00", "2014-01-01T04:59:59Z", "2014-01-01T05:00:00Z"},
	} {
		r, err := ParseDate(c.in)
		if err != nil {
			t.Errorf("ParseDate(%q): %v", c.in, err)
			continue
		}
		if r.Low != mustTime(c.low) || r.High != mustTime(c.high) {
			t.Errorf("ParseDate(%q) = [%s, %s), want [%s, %s)", c.in,
				time.UnixMicro(r.Low).UTC(), time.UnixMicro(r.High).UTC(), c.low, c.high)
		}
	}
	for _, bad := range []string{"", "13", "2013-13", "2013-02-29", "2013-01-14T25:00", "2013-01-14T10", "2013-01-14T10:00:61Z", "2013-01-14T10:00:00+15:00", "not-a-date", "2013-1-1", "2013-01-14 10:00"} {
		if _, err := ParseDate(bad); err == nil {
			t.Errorf("ParseDate(%q) succeeded", bad)
		}
	}
}

func TestMatchRange(t *testing.T) {
	d := func(s string) Range {
		r, err := ParseDate(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	day := d("2013-01-14")
	for _, c := range []struct {
		p      Prefix
		target Range
		want   bool
	}{
		{PrefixEq, d("2013-01-14T10:00:00Z"), true},
		{PrefixEq, d("2013-01-14"), true},
		{PrefixEq, d("2013-01"), false}, // a month is not inside a day
		{PrefixEq, d("2013-01-15T00:00:00Z"), false},
		{PrefixEq, d("2013-01-13T23:59:59.999999Z"), false},
		{PrefixNe, d("2013-01-15"), true},
		{PrefixNe, d("2013-01-14T01:00:00Z"), false},
		{PrefixGt, d("2013-01-15"), true},
		{PrefixGt, d("2013-01-14T23:59:59Z"), false},
		{PrefixGt, d("2013"), true}, // the year extends past the day
		{PrefixLt, d("2013-01-13"), true},
		{PrefixLt, d("2013-01-14"), false},
		{PrefixGe, d("2013-01-14T00:00:00Z"), true},
		{PrefixGe, d("2013-01-13"), false},
		{PrefixLe, d("2013-01-14T23:59:59Z"), true},
		{PrefixLe, d("2013-01-15"), false},
		{PrefixSa, d("2013-01-15"), true},
		{PrefixSa, d("2013"), false},
		{PrefixEb, d("2013-01-13"), true},
		{PrefixEb, Range{MinInt64, d("2013-01-14").Low}, true},
		{PrefixEb, Range{MinInt64, d("2013-01-14").High}, false},
		{PrefixGt, Range{d("2012").Low, MaxInt64}, true}, // an ongoing period
	} {
		if got := MatchRange(c.p, day, day, c.target); got != c.want {
			t.Errorf("%s2013-01-14 vs [%s, %s): got %v", c.p, time.UnixMicro(c.target.Low).UTC(), time.UnixMicro(c.target.High).UTC(), got)
		}
	}
	now := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	ap := ApproxDate(d("2013-01-01"), now)
	// ten years away: widened by about a year each side
	if !MatchRange(PrefixAp, d("2013-01-01"), ap, d("2012-06-01")) || MatchRange(PrefixAp, d("2013-01-01"), ap, d("2010")) {
		t.Errorf("ap range %v", ap)
	}
}

func TestParseNumber(t *testing.T) {
	for _, c := range []struct {
		in              string
		low, value, hig float64
	}{
		{"100", 99.5, 100, 100.5},
		{"100.00", 99.995, 100, 100.005},
		{"1e2", 50, 100, 150},
		{"1.0e2", 95, 100, 105},
		{"0.1", 0.05, 0.1, 0.15},
		{"-3", -3.5, -3, -2.5},
		{"1E-3", 0.0005, 0.001, 0.0015},
	} {
		n, err := ParseNumber(c.in)
		if err != nil {
			t.Fatalf("ParseNumber(%q): %v", c.in, err)
		}
		if n.Low != c.low || n.Value != c.value || n.High != c.hig {
			t.Errorf("ParseNumber(%q) = [%v, %v, %v), want [%v, %v, %v)", c.in, n.Low, n.Value, n.High, c.low, c.value, c.hig)
		}
	}
	for _, bad := range []string{"", "abc", "1.", ".5", "1e", "1e999", "0x10", "1,5", "NaN", "Infinity"} {
		if _, err := ParseNumber(bad); err == nil {
			t.Errorf("ParseNumber(%q) succeeded", bad)
		}
	}
}

func TestMatchNumber(t *testing.T) {
	n, _ := ParseNumber("100")
	for _, c := range []struct {
		p    Prefix
		v    float64
		want bool
	}{
		{PrefixEq, 100, true}, {PrefixEq, 99.5, true}, {PrefixEq, 100.5, false}, {PrefixEq, 99.49, false},
		{PrefixNe, 100.2, false}, {PrefixNe, 101, true},
		{PrefixGt, 100.1, true}, {PrefixGt, 100, false},
		{PrefixLt, 99.9, true}, {PrefixLt, 100, false},
		{PrefixGe, 100, true}, {PrefixGe, 99.9, false},
		{PrefixLe, 100, true}, {PrefixLe, 100.1, false},
		{PrefixSa, 100.5, true}, {PrefixSa, 100.4, false},
		{PrefixEb, 99.4, true}, {PrefixEb, 99.5, false},
		{PrefixAp, 109, true}, {PrefixAp, 111, false}, {PrefixAp, 90, true},
	} {
		if got := MatchNumber(c.p, n, c.v); got != c.want {
			t.Errorf("%s100 vs %v: got %v", c.p, c.v, got)
		}
	}
	// the exact bound written in the resource equals the computed bound
	n2, _ := ParseNumber("100.00")
	v, _ := IndexNumber("99.995")
	if !MatchNumber(PrefixEq, n2, v) {
		t.Errorf("99.995 not in [99.995, 100.005)")
	}
}

func TestQuantityCanonical(t *testing.T) {
	q, pre, err := parseQuantity("value-quantity", "gt5.4|http://unitsofmeasure.org|mg")
	if err != nil || pre != PrefixGt {
		t.Fatal(err, pre)
	}
	if !q.Canonical || q.CanonicalCode != "g" || q.CanonicalNum.Value != 0.0054 || q.CanonicalNum.Low != 0.00535 || q.CanonicalNum.High != 0.00545 {
		t.Errorf("canonical = %+v", q)
	}
	q, _, _ = parseQuantity("value-quantity", "5.4||mg")
	if !q.AnySystem || q.Code != "mg" || q.Canonical {
		t.Errorf("no-system quantity = %+v", q)
	}
	q, _, _ = parseQuantity("value-quantity", "37|http://unitsofmeasure.org|Cel")
	if q.Canonical {
		t.Errorf("Cel has an offset and must not be canonicalised")
	}
	for _, bad := range []string{"5.4|mg", "x|http://unitsofmeasure.org|mg", "5|http://unitsofmeasure.org|", "5|a|b|c"} {
		if _, _, err := parseQuantity("value-quantity", bad); err == nil {
			t.Errorf("parseQuantity(%q) succeeded", bad)
		}
	}
}

func TestParseToken(t *testing.T) {
	for _, c := range []struct {
		in   string
		mod  Modifier
		want Token
	}{
		{"1234", ModNone, Token{AnySystem: true, Code: "1234"}},
		{"http://loinc.org|1234", ModNone, Token{System: "http://loinc.org", Code: "1234"}},
		{"|1234", ModNone, Token{Code: "1234"}},
		{"http://loinc.org|", ModNone, Token{System: "http://loinc.org"}},
		{`a\|b`, ModNone, Token{AnySystem: true, Code: "a|b"}},
		{"http://terminology.hl7.org/CodeSystem/v2-0203|MR|446053", ModOfType, Token{AnySystem: true, TypeSystem: "http://terminology.hl7.org/CodeSystem/v2-0203", TypeCode: "MR", Code: "446053"}},
		{"Héart", ModText, Token{Text: "heart"}},
	} {
		got, err := parseToken("code", c.mod, c.in)
		if err != nil || got != c.want {
			t.Errorf("parseToken(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"|", "a|b|c"} {
		if _, err := parseToken("code", ModNone, bad); err == nil {
			t.Errorf("parseToken(%q) succeeded", bad)
		}
	}
}
