package ucum

import (
	"math/big"
	"testing"
)

func TestCanonical(t *testing.T) {
	for _, c := range []struct {
		code, base, factor string
	}{
		{"kg", "g", "1000"},
		{"mg", "g", "1/1000"},
		{"t", "g", "1000000"},
		{"[lb_av]", "g", "45359237/100000"},
		{"[oz_av]", "g", "28.349523125"},
		{"[stone_av]", "g", "6350.29318"},
		{"L", "m3", "1/1000"},
		{"mL", "m3", "1/1000000"},
		{"mg/dL", "g.m-3", "10"},
		{"g/L", "g.m-3", "1000"},
		{"mmol/L", "m-3.mol", "1"},
		{"10*9/L", "m-3", "1000000000000"},
		{"10*3/uL", "m-3", "1000000000000"},
		{"10^3/uL", "m-3", "1000000000000"},
		{"/uL", "m-3", "1000000000"},
		{"{cells}/uL", "m-3", "1000000000"},
		{"kg/m2", "g.m-2", "1000"},
		{"mL/min/{1.73_m2}", "m3.s-1", "1/60000000"},
		{"s-1", "s-1", "1"},
		{"/min", "s-1", "1/60"},
		{"%", "1", "1/100"},
		{"kPa", "g.m-1.s-2", "1000000"},
		{"[in_i]", "m", "0.0254"},
		{"[mi_i]", "m", "1609.344"},
		{"h", "s", "3600"},
		{"wk", "s", "604800"},
	} {
		base, f, ok := Canonical(c.code)
		want, _ := new(big.Rat).SetString(c.factor)
		if !ok || base != c.base || f.Cmp(want) != 0 {
			t.Errorf("Canonical(%q) = %q, %v, %v; want %q, %s", c.code, base, f, ok, c.base, want)
		}
	}
	// Not converted: offsets, calendar units, arbitrary units, junk.
	for _, code := range []string{"", "Cel", "[degF]", "a", "mo", "mm[Hg]", "[IU]", "U/L", "meq/L", "kg/", "m{", "m{x", "{a}{b}", "m99", "10*x", "xyz", "m0", "/"} {
		if base, _, ok := Canonical(code); ok {
			t.Errorf("Canonical(%q) = %q, want not converted", code, base)
		}
	}
}

// Equal quantities in different units reduce to the same value.
func TestEquivalent(t *testing.T) {
	for _, c := range [][2]string{{"[lb_av]", "kg"}, {"10*3/uL", "10*9/L"}, {"mg/dL", "g/L"}, {"mL", "cm3"}} {
		_, fa, _ := Canonical(c[0])
		_, fb, _ := Canonical(c[1])
		ba, _, _ := Canonical(c[0])
		bb, _, _ := Canonical(c[1])
		if ba != bb || fa == nil || fb == nil {
			t.Errorf("%s and %s: bases %q, %q", c[0], c[1], ba, bb)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"mg/dL", "10*3/uL", "{cells}/uL", "mL/min/{1.73_m2}", "kg.m-2", "/", "..", "{"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fa, d, ok := Parse(s)
		if ok && (fa == nil || fa.Sign() <= 0) {
			t.Fatalf("Parse(%q) = %v, %v", s, fa, d)
		}
	})
}
