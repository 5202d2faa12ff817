// Package nhsnumber validates, formats and generates NHS numbers, the
// 10-digit national patient identifier of England and Wales.
//
// The check digit is Modulus 11 (NHS Data Dictionary, "NHS Number"):
// digits 1 to 9 are weighted 10 down to 2, the products summed, and the
// check digit is 11 minus the sum modulo 11, where 11 becomes 0 and 10
// means no number with those first nine digits is ever issued.
//
// In FHIR an NHS number is sent as exactly ten digits with no spaces
// (identifier system System); Format gives the 3-3-4 spaced form for
// people to read.
package nhsnumber

import (
	"fmt"
)

// System is the FHIR Identifier.system for an NHS number. Older GP Connect
// material uses http://fhir.nhs.net/Id/nhs-number; that form is accepted
// by readers elsewhere but never emitted.
const System = "https://fhir.nhs.uk/Id/nhs-number"

// Reason classifies why a string is not a valid NHS number, so callers can
// map each case to their own message or issue code.
type Reason int

// The reasons Validate reports, checked in this order.
const (
	// ReasonEmpty: the value is the empty string.
	ReasonEmpty Reason = iota + 1
	// ReasonSpaces: the value contains spaces (for example the display
	// form "943 476 5919"). FHIR and Spine carry the ten digits only, so
	// the sender must strip them; this is reported before the length so
	// the message names the real mistake.
	ReasonSpaces
	// ReasonNonDigit: a character other than 0-9 is present.
	ReasonNonDigit
	// ReasonLength: the value is not exactly 10 digits long.
	ReasonLength
	// ReasonCheckDigitTen: the Modulus 11 check digit of the first nine
	// digits is 10, so no such number is ever issued.
	ReasonCheckDigitTen
	// ReasonCheckDigit: the tenth digit is not the computed check digit.
	ReasonCheckDigit
)

// String returns a short machine-friendly name for r.
func (r Reason) String() string {
	switch r {
	case ReasonEmpty:
		return "empty"
	case ReasonSpaces:
		return "contains-spaces"
	case ReasonNonDigit:
		return "non-digit"
	case ReasonLength:
		return "wrong-length"
	case ReasonCheckDigitTen:
		return "check-digit-ten"
	case ReasonCheckDigit:
		return "wrong-check-digit"
	}
	return "unknown"
}

// Error says exactly what is wrong with a candidate NHS number. Validate
// returns it as *Error; use errors.As to read Reason and the details.
type Error struct {
	Reason Reason
	// Value is the rejected input, kept so the message can quote it.
	Value string
	// Length is the number of bytes in Value (ReasonLength).
	Length int
	// Index is the byte offset of the first offending character
	// (ReasonSpaces, ReasonNonDigit).
	Index int
	// Expected and Got are the computed and supplied check digits
	// (ReasonCheckDigit).
	Expected, Got int
}

func (e *Error) Error() string {
	switch e.Reason {
	case ReasonEmpty:
		return "NHS number is empty"
	case ReasonSpaces:
		return fmt.Sprintf("NHS number %q contains spaces: NHS numbers must be sent as 10 digits without spaces in FHIR", e.Value)
	case ReasonNonDigit:
		return fmt.Sprintf("NHS number %q contains a non-digit character %q at position %d", e.Value, e.Value[e.Index], e.Index+1)
	case ReasonLength:
		return fmt.Sprintf("NHS number %q has %d digits, want 10", e.Value, e.Length)
	case ReasonCheckDigitTen:
		return fmt.Sprintf("NHS number %q is invalid: the Modulus 11 check digit of its first nine digits is 10, so it is never issued", e.Value)
	case ReasonCheckDigit:
		return fmt.Sprintf("NHS number %q has wrong check digit: expected %d, got %d", e.Value, e.Expected, e.Got)
	}
	return fmt.Sprintf("NHS number %q is invalid", e.Value)
}

// CheckDigit computes the Modulus 11 check digit for the first nine digits
// of an NHS number. It returns false if first9 is not exactly nine ASCII
// digits or if the computed check digit is 10 (a number that is never
// issued).
func CheckDigit(first9 string) (int, bool) {
	if len(first9) != 9 {
		return 0, false
	}
	sum := 0
	for i := 0; i < 9; i++ {
		c := first9[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		sum += int(c-'0') * (10 - i)
	}
	check := 11 - sum%11
	switch check {
	case 11:
		return 0, true
	case 10:
		return 0, false
	}
	return check, true
}

// Validate reports whether s is a valid NHS number as sent in FHIR: exactly
// ten ASCII digits whose last is the Modulus 11 check digit of the first
// nine. A nil result means valid; otherwise the error is an *Error.
func Validate(s string) error {
	if s == "" {
		return &Error{Reason: ReasonEmpty}
	}
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			return &Error{Reason: ReasonSpaces, Value: s, Index: i}
		}
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < '0' || c > '9' {
			return &Error{Reason: ReasonNonDigit, Value: s, Index: i}
		}
	}
	if len(s) != 10 {
		return &Error{Reason: ReasonLength, Value: s, Length: len(s)}
	}
	want, ok := CheckDigit(s[:9])
	if !ok {
		return &Error{Reason: ReasonCheckDigitTen, Value: s}
	}
	if got := int(s[9] - '0'); got != want {
		return &Error{Reason: ReasonCheckDigit, Value: s, Expected: want, Got: got}
	}
	return nil
}

// Valid reports whether Validate(s) would return nil.
func Valid(s string) bool {
	if len(s) != 10 {
		return false
	}
	want, ok := CheckDigit(s[:9])
	return ok && s[9] >= '0' && s[9] <= '9' && int(s[9]-'0') == want
}

// Format returns s in the 3-3-4 display form ("943 476 5919") used on
// screens and letters. Values that are not ten digits are returned
// unchanged, so Format never hides what was actually received.
func Format(s string) string {
	if len(s) != 10 {
		return s
	}
	for i := 0; i < 10; i++ {
		if s[i] < '0' || s[i] > '9' {
			return s
		}
	}
	return s[:3] + " " + s[3:6] + " " + s[6:]
}

// Parse accepts an NHS number as a person types or reads it, with the
// digits optionally grouped by single spaces or hyphens ("943 476 5919",
// "943-476-5919"), and returns the ten digits FHIR carries once they pass
// Validate. Only user input should go through Parse; a FHIR identifier
// with separators is wrong and Validate reports it.
func Parse(s string) (string, error) {
	b := make([]byte, 0, 10)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c == ' ' || c == '-') && i > 0 && i < len(s)-1 && s[i-1] >= '0' && s[i-1] <= '9' {
			continue
		}
		b = append(b, c)
	}
	out := string(b)
	if err := Validate(out); err != nil {
		return "", err
	}
	return out, nil
}

// TestPrefix is the leading "999" of the range that sources describe as
// reserved for test and demonstration data and never issued. The NHS
// itself also uses other 9-prefixed test numbers, so this prefix marks
// data Junction generates, not every test number.
const TestPrefix = "999"

// Serials is the number of distinct serials FromSerial accepts: n must be
// in [0, Serials).
const Serials = 100_000 * 9

// FromSerial returns a valid NHS number in the 999 test range for serial
// n, 0 <= n < Serials. Distinct serials give distinct numbers, and numbers
// ascend with n. It panics outside that range, because a caller that runs
// off the end has a bug, not bad input.
//
// Digits 4 to 8 are n/9 and digit 9 is the (n mod 9)-th ending, counting
// from 0, whose check digit is not 10. Digit 9 carries weight 2, which is
// invertible modulo 11, so the ten endings of a run give ten different
// remainders and at most one of them is the never-issued check digit 10:
// every run has at least nine usable endings, which makes the mapping
// O(1) with no table. (A run with ten usable endings leaves its last one
// unused.)
func FromSerial(n int) string {
	if n < 0 || n >= Serials {
		panic(fmt.Sprintf("nhsnumber: FromSerial(%d): serial outside [0, %d)", n, Serials))
	}
	run, k := n/9, n%9
	var b [10]byte
	copy(b[:], TestPrefix)
	for i, r := 7, run; i >= 3; i-- {
		b[i] = byte('0' + r%10)
		r /= 10
	}
	for d := byte('0'); d <= '9'; d++ {
		b[8] = d
		check, ok := CheckDigit(string(b[:9]))
		if !ok {
			continue
		}
		if k == 0 {
			b[9] = byte('0' + check)
			return string(b[:])
		}
		k--
	}
	panic("nhsnumber: unreachable: fewer than nine usable endings in a run")
}
