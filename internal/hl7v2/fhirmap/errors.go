package fhirmap

import "fmt"

// HL7 table 0357 (message error condition codes) values a mapping reports.
const (
	CodeSegmentSequence  = "100" // segment sequence error
	CodeRequiredMissing  = "101" // required field missing
	CodeDataType         = "102" // data type error
	CodeTableValue       = "103" // table value not found
	CodeUnsupportedType  = "200" // unsupported message type
	CodeUnsupportedEvent = "201" // unsupported event code
	CodeUnknownKey       = "204" // unknown key identifier
	CodeDuplicateKey     = "205" // duplicate key identifier
	CodeInternal         = "207" // application internal error
)

// Error is why a message cannot be mapped, with where in the message the
// problem is (HL7 v2.5.1 ERR-2, error location) and the HL7 error code
// (ERR-3, table 0357), so the acknowledgement can say both.
type Error struct {
	Segment    string // e.g. "PID"; empty when the message as a whole is at fault
	Occurrence int    // 1-based occurrence of the segment in the message (0: unknown)
	Field      int    // 1-based field number (0: the whole segment)
	Rep        int    // 1-based repetition (0: not known)
	Component  int    // 1-based component (0: the whole field)
	Code       string // HL7 table 0357
	Text       string // what is wrong, for people
}

func (e *Error) Error() string {
	loc := e.Location()
	if loc == "" {
		return fmt.Sprintf("HL7 error %s: %s", e.Code, e.Text)
	}
	return fmt.Sprintf("%s: HL7 error %s: %s", loc, e.Code, e.Text)
}

// Location renders the error's place as "PID-3(2).1", or "" when the
// message as a whole is at fault.
func (e *Error) Location() string {
	if e.Segment == "" {
		return ""
	}
	s := e.Segment
	if e.Occurrence > 1 {
		s += fmt.Sprintf("(%d)", e.Occurrence)
	}
	if e.Field > 0 {
		s += fmt.Sprintf("-%d", e.Field)
		if e.Rep > 1 {
			s += fmt.Sprintf("(%d)", e.Rep)
		}
		if e.Component > 0 {
			s += fmt.Sprintf(".%d", e.Component)
		}
	}
	return s
}

func errAt(seg string, occ, field, rep, comp int, code, format string, args ...any) *Error {
	return &Error{Segment: seg, Occurrence: occ, Field: field, Rep: rep, Component: comp, Code: code, Text: fmt.Sprintf(format, args...)}
}
