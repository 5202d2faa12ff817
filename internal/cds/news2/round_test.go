package news2

import (
	"errors"
	"testing"
)

func TestRound(t *testing.T) {
	whole := map[string]int{
		"20": 20, "20.0": 20, "20.4": 20, "20.49999": 20, "20.5": 21, "20.50": 21, "8.5": 9, "11.5": 12,
		"219.5": 220, "90.49": 90, "0": 0, "2.05e1": 21, "1E2": 100, "-0.4": 0,
	}
	for in, want := range whole {
		if got, err := RoundWhole(in); err != nil || got != want {
			t.Errorf("RoundWhole(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	tenths := map[string]int{
		"36.05": 361, "36.04": 360, "36.049999": 360, "35.04": 350, "35.05": 351, "38.05": 381,
		"39.05": 391, "39": 390, "39.0": 390, "37": 370, "36.15": 362,
	}
	for in, want := range tenths {
		if got, err := RoundTenths(in); err != nil || got != want {
			t.Errorf("RoundTenths(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	fahrenheit := map[string]int{"98.6": 370, "95": 350, "95.2": 351, "212": 1000, "100.4": 380, "100.5": 381}
	for in, want := range fahrenheit {
		if got, err := FahrenheitToTenths(in); err != nil || got != want {
			t.Errorf("FahrenheitToTenths(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "abc", "1/2", "0x10", "1e999", "+3", "3.", ".5", "1_000", "NaN", "Inf", "01"} {
		if _, err := RoundTenths(bad); err == nil {
			t.Errorf("RoundTenths(%q) accepted", bad)
		}
	}
	if _, err := RoundWhole("1e99"); !errors.Is(err, ErrImplausible) {
		t.Errorf("RoundWhole(1e99) = %v, want ErrImplausible", err)
	}
}

// FuzzRound checks that rounding never panics and agrees between the two
// precisions: a value rounded to tenths and then to whole numbers is
// within one of the value rounded to whole numbers directly.
func FuzzRound(f *testing.F) {
	for _, s := range []string{"36.05", "20.5", "1e2", "-3.25", "0", "98.6"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w, errW := RoundWhole(s)
		tn, errT := RoundTenths(s)
		if (errW == nil) != (errT == nil) && !errors.Is(errW, ErrImplausible) && !errors.Is(errT, ErrImplausible) {
			t.Fatalf("%q: RoundWhole error %v but RoundTenths error %v", s, errW, errT)
		}
		if errW == nil && errT == nil {
			if d := tn - 10*w; d < -5 || d > 5 {
				t.Fatalf("%q: %d tenths but %d whole", s, tn, w)
			}
		}
		_, _ = FahrenheitToTenths(s)
	})
}
