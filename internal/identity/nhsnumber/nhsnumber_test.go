package nhsnumber

import (
	"errors"
	"strings"
	"testing"
)

// Each valid number below was checked by hand with the Modulus 11 rule; the
// sums are in the comments so a reader can re-check them.
func TestValidateValid(t *testing.T) {
	for _, s := range []string{
		"9434765919", // sum 299, r 2, check 9 (worked example in NHS-RULES.md)
		"9990000018", // sum 245, r 3, check 8
		"9990000026", // sum 247, r 5, check 6
		"9000000009", // sum 90, r 2, check 9 (PDS sandbox patient)
		"9449310610", // sum 275, r 0, check 11 -> 0
		"9990000050", // sum 253, r 0, check 11 -> 0
	} {
		t.Run(s, func(t *testing.T) {
			if err := Validate(s); err != nil {
				t.Fatalf("Validate(%q) = %v, want nil", s, err)
			}
			if !Valid(s) {
				t.Fatalf("Valid(%q) = false", s)
			}
		})
	}
}

func TestValidateInvalid(t *testing.T) {
	for _, tc := range []struct {
		in       string
		reason   Reason
		expected int
		got      int
		msg      string
	}{
		{in: "", reason: ReasonEmpty, msg: "empty"},
		{in: "943 476 5919", reason: ReasonSpaces, msg: "without spaces"},
		{in: " 9434765919", reason: ReasonSpaces, msg: "contains spaces"},
		{in: "943-476-5919", reason: ReasonNonDigit, msg: `'-' at position 4`},
		{in: "94347659I9", reason: ReasonNonDigit, msg: `'I' at position 9`},
		{in: "９434765919", reason: ReasonNonDigit, msg: "non-digit"}, // full-width digit
		{in: "943476591", reason: ReasonLength, msg: "has 9 digits"},
		{in: "94347659190", reason: ReasonLength, msg: "has 11 digits"},
		{in: "1234567890", reason: ReasonCheckDigitTen, msg: "check digit of its first nine digits is 10"},
		{in: "9991234560", reason: ReasonCheckDigitTen, msg: "is 10"}, // sum 133, r 1
		{in: "9990000000", reason: ReasonCheckDigitTen, msg: "is 10"}, // sum 243, r 1
		{in: "9434765918", reason: ReasonCheckDigit, expected: 9, got: 8, msg: "expected 9, got 8"},
		{in: "9876544321", reason: ReasonCheckDigit, expected: 2, got: 1, msg: "expected 2, got 1"},
	} {
		t.Run(tc.reason.String()+"/"+tc.in, func(t *testing.T) {
			err := Validate(tc.in)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Validate(%q) = %v, want *Error", tc.in, err)
			}
			if e.Reason != tc.reason {
				t.Fatalf("Reason = %v, want %v (%v)", e.Reason, tc.reason, err)
			}
			if tc.reason == ReasonCheckDigit && (e.Expected != tc.expected || e.Got != tc.got) {
				t.Fatalf("expected/got = %d/%d, want %d/%d", e.Expected, e.Got, tc.expected, tc.got)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("message %q does not contain %q", err.Error(), tc.msg)
			}
			if Valid(tc.in) {
				t.Fatalf("Valid(%q) = true", tc.in)
			}
		})
	}
}

func TestCheckDigit(t *testing.T) {
	for _, tc := range []struct {
		in    string
		digit int
		ok    bool
	}{
		{"943476591", 9, true},
		{"944931061", 0, true},
		{"123456789", 0, false}, // check digit 10
		{"12345678", 0, false},
		{"12345678a", 0, false},
	} {
		d, ok := CheckDigit(tc.in)
		if d != tc.digit || ok != tc.ok {
			t.Errorf("CheckDigit(%q) = %d, %v, want %d, %v", tc.in, d, ok, tc.digit, tc.ok)
		}
	}
}

func TestFormat(t *testing.T) {
	for in, want := range map[string]string{
		"9434765919":   "943 476 5919",
		"9990000018":   "999 000 0018",
		"943476591":    "943476591",
		"943 476 5919": "943 476 5919",
		"94347659x9":   "94347659x9",
	} {
		if got := Format(in); got != want {
			t.Errorf("Format(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFromSerial(t *testing.T) {
	if got := FromSerial(0); got != "9990000018" {
		t.Fatalf("FromSerial(0) = %s, want 9990000018 (9990000000 has check digit 10)", got)
	}
	if got := FromSerial(1); got != "9990000026" {
		t.Fatalf("FromSerial(1) = %s, want 9990000026", got)
	}
	prev := ""
	for n := 0; n < Serials; n += 1 + n/1000 {
		s := FromSerial(n)
		if err := Validate(s); err != nil {
			t.Fatalf("FromSerial(%d) = %s: %v", n, s, err)
		}
		if !strings.HasPrefix(s, TestPrefix) {
			t.Fatalf("FromSerial(%d) = %s, not in the test range", n, s)
		}
		if s <= prev {
			t.Fatalf("FromSerial(%d) = %s, not above %s", n, s, prev)
		}
		prev = s
	}
	if s := FromSerial(Serials - 1); !Valid(s) {
		t.Fatalf("FromSerial(Serials-1) = %s invalid", s)
	}
}

func TestFromSerialPanicsOutOfRange(t *testing.T) {
	for _, n := range []int{-1, Serials} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("FromSerial(%d) did not panic", n)
				}
			}()
			FromSerial(n)
		}()
	}
}

// reference recomputes validity from the definition, independently of the
// package code: digits only, length 10, weighted sum, remainder rules.
func reference(s string) bool {
	if len(s) != 10 {
		return false
	}
	sum := 0
	for i, r := range []byte(s) {
		if r < '0' || r > '9' {
			return false
		}
		if i < 9 {
			sum += int(r-'0') * (10 - i)
		}
	}
	check := (11 - sum%11) % 11
	return check != 10 && check == int(s[9]-'0')
}

func FuzzValidate(f *testing.F) {
	for _, s := range []string{"", "9434765919", "943 476 5919", "1234567890", "9876544321", "\x00", "99900000１8"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := Validate(s)
		valid := Valid(s)
		if (err == nil) != valid {
			t.Fatalf("Validate(%q) = %v but Valid = %v", s, err, valid)
		}
		if want := reference(s); valid != want {
			t.Fatalf("Valid(%q) = %v, reference says %v", s, valid, want)
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Error() == "" {
				t.Fatalf("Validate(%q) returned %T without a message", s, err)
			}
		}
		_ = Format(s)
		if len(s) >= 9 {
			CheckDigit(s[:9])
		}
	})
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		reason   Reason
	}{
		{"943 476 5919", "9434765919", 0},
		{"943-476-5919", "9434765919", 0},
		{"9434765919", "9434765919", 0},
		{" 9434765919", "", ReasonSpaces},
		{"943  476 5919", "", ReasonSpaces},
		{"943 476 5918", "", ReasonCheckDigit},
		{"999 123 4560", "", ReasonCheckDigitTen},
		{"", "", ReasonEmpty},
	} {
		got, err := Parse(tc.in)
		var e *Error
		switch {
		case tc.reason == 0 && (err != nil || got != tc.want):
			t.Errorf("Parse(%q) = %q, %v, want %q", tc.in, got, err, tc.want)
		case tc.reason != 0 && (!errors.As(err, &e) || e.Reason != tc.reason):
			t.Errorf("Parse(%q) error %v, want reason %v", tc.in, err, tc.reason)
		}
	}
}
