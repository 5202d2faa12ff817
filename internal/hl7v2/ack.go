package hl7v2

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Acknowledgement codes for MSA-1 (HL7 table 0008).
const (
	AA = "AA" // original mode or enhanced application ack: accept
	AE = "AE" // application error: the content is wrong; the sender must not resend it unchanged
	AR = "AR" // application reject: unsupported message, or a receiver failure; may be retried
	CA = "CA" // enhanced mode commit ack: accepted and in safe storage
	CE = "CE" // enhanced mode commit ack: error
	CR = "CR" // enhanced mode commit ack: reject
)

// ErrorCode is an HL7 error code from table 0357 (message error condition codes), sent in
// ERR-3 (v2.5 and later) or ERR-1.4 (v2.3 and v2.4).
type ErrorCode int

// Table 0357 codes.
const (
	ErrorSegmentSequence         ErrorCode = 100
	ErrorRequiredFieldMissing    ErrorCode = 101
	ErrorDataType                ErrorCode = 102
	ErrorTableValueNotFound      ErrorCode = 103
	ErrorUnsupportedMessageType  ErrorCode = 200
	ErrorUnsupportedEventCode    ErrorCode = 201
	ErrorUnsupportedProcessingID ErrorCode = 202
	ErrorUnsupportedVersion      ErrorCode = 203
	ErrorUnknownKey              ErrorCode = 204
	ErrorDuplicateKey            ErrorCode = 205
	ErrorRecordLocked            ErrorCode = 206
	ErrorInternal                ErrorCode = 207
)

var errorCodeText = map[ErrorCode]string{
	0:                            "Message accepted",
	ErrorSegmentSequence:         "Segment sequence error",
	ErrorRequiredFieldMissing:    "Required field missing",
	ErrorDataType:                "Data type error",
	ErrorTableValueNotFound:      "Table value not found",
	ErrorUnsupportedMessageType:  "Unsupported message type",
	ErrorUnsupportedEventCode:    "Unsupported event code",
	ErrorUnsupportedProcessingID: "Unsupported processing id",
	ErrorUnsupportedVersion:      "Unsupported version id",
	ErrorUnknownKey:              "Unknown key identifier",
	ErrorDuplicateKey:            "Duplicate key identifier",
	ErrorRecordLocked:            "Application record locked",
	ErrorInternal:                "Application internal error",
}

// Text returns the table 0357 display text of c ("Application internal error" for codes the
// table does not define).
func (c ErrorCode) Text() string {
	if t, ok := errorCodeText[c]; ok {
		return t
	}
	return errorCodeText[ErrorInternal]
}

// AckError is one problem reported in an ERR segment of an acknowledgement.
type AckError struct {
	Segment  string    // segment id of the location, e.g. "PID"; empty when there is no location
	Sequence int       // 1-based occurrence of that segment in the message (0 is sent as 1)
	Field    int       // field position; 0 when the problem concerns the whole segment
	Code     ErrorCode // table 0357 code
	Severity string    // table 0516: "E" error, "W" warning, "I" information; empty means "E"
	Text     string    // message for the sender's users (ERR-8; MSA-3 before v2.7). It is sent to the peer.
}

// AckMode reports how the sender of m wants to be acknowledged (HL7 v2.5.1 section 2.9).
// enhanced is true when MSH-15 or MSH-16 is valued; accept and app are then the table 0155
// conditions, with an empty field read as AL (an unasked acknowledgement is harmless, a
// missing one causes a resend). In original mode accept is "" and app is AL: one
// acknowledgement, AA/AE/AR, after processing.
func AckMode(m *Message) (enhanced bool, accept, app string) {
	accept, app = m.AcceptAckType(), m.AppAckType()
	if accept == "" && app == "" {
		return false, "", "AL"
	}
	if accept == "" {
		accept = "AL"
	}
	if app == "" {
		app = "AL"
	}
	return true, accept, app
}

// AckWanted applies a table 0155 condition: AL always, NE never, ER only when the outcome is
// not a success, SU only when it is. Unknown conditions are treated as AL.
func AckWanted(condition string, success bool) bool {
	switch strings.ToUpper(strings.TrimSpace(condition)) {
	case "NE":
		return false
	case "ER":
		return !success
	case "SU":
		return success
	}
	return true
}

// ackHeader holds the (still encoded) values an acknowledgement copies from the message it
// answers.
type ackHeader struct {
	d                                  Delimiters
	sendApp, sendFac, recvApp, recvFac string // of the original message
	trigger, controlID, processing     string
	version, country, charset, lang    string
}

// Ack builds the acknowledgement of orig (HL7 v2.5.1 section 2.9 and the ACK message, section
// 2.14.1): an MSH that swaps the sending and receiving application and facility, keeps the
// delimiters, processing id, version, country, character set and language, carries
// MSH-9 ACK^<trigger>^ACK (ACK^<trigger> in v2.3, which has no structure component) and
// MSH-10 controlID; an MSA with code, orig's control id and, before v2.7, the first error's
// text; and one ERR segment per error. In v2.5 and later ERR-2 holds the location
// (segment^sequence^field), ERR-3 the table 0357 code, ERR-4 the severity and ERR-8 the text;
// in v2.3 and v2.4 ERR-1 holds segment^sequence^field^code&text&HL70357.
//
// code must be one of AA, AE, AR, CA, CE, CR; any other value is sent as AR, so that the
// sender retries rather than assumes success. An empty controlID is replaced by one made
// from now. The result has CR segment terminators and no MLLP framing.
func Ack(orig *Message, code string, errs []AckError, controlID string, now time.Time) []byte {
	msh := orig.Segments[0]
	raw := func(n int) string { return sanitize(msh.Field(n).Raw(), maxEcho) }
	h := ackHeader{
		d:       orig.Delims,
		sendApp: raw(3), sendFac: raw(4), recvApp: raw(5), recvFac: raw(6),
		trigger:    sanitize(msh.Field(9).Rep(1).Component(2).Raw(), maxEcho),
		controlID:  sanitize(msh.Field(10).Rep(1).Component(1).Raw(), maxEcho),
		processing: raw(11), version: raw(12), country: raw(17), charset: raw(18), lang: raw(19),
	}
	out := buildAck(h, orig.Version(), code, errs, controlID, now)
	// The reply declares orig's MSH-18, so it must be written in that character set; the
	// parsed values are UTF-8.
	switch strings.ToUpper(strings.TrimSpace(orig.Charset)) {
	case "8859/1":
		out = fromUTF8SingleByte(out, nil)
	case "8859/15":
		out = fromUTF8SingleByte(out, latin9Diff)
	}
	return out
}

// maxEcho bounds each header value an acknowledgement copies from the message it answers.
const maxEcho = 1000

// fromUTF8SingleByte encodes UTF-8 text in ISO 8859-1, or 8859-15 when diff is latin9Diff;
// characters the set lacks become '?'.
func fromUTF8SingleByte(b []byte, diff map[byte]rune) []byte {
	if !bytes.ContainsFunc(b, func(r rune) bool { return r >= 0x80 }) {
		return b
	}
	rev := map[rune]byte{}
	for k, v := range diff {
		rev[v] = k
	}
	out := make([]byte, 0, len(b))
	for _, r := range string(b) {
		switch c, ok := rev[r]; {
		case ok:
			out = append(out, c)
		case r < 0x80 || r <= 0xFF && diff[byte(r)] == 0:
			out = append(out, byte(r))
		default:
			out = append(out, '?')
		}
	}
	return out
}

// AckForUnparsable builds a reject for input Parse refused, recovering what it can of the MSH
// segment (delimiters, applications, facilities, trigger, control id, processing id, version,
// character set) so the sender can match the reply; when nothing can be recovered it sends a
// minimal valid MSH with default delimiters and version 2.4 (the NHS ITK baseline). err
// becomes the ERR segment: a *ParseError gives the location and the table 0357 code its
// sentinel implies; any other error is reported as code 207 with err.Error() as text, so pass
// only errors whose text may be shown to the sender. code is normally AR (or CR in enhanced
// mode); the rules of Ack apply.
func AckForUnparsable(raw []byte, code string, err error, controlID string, now time.Time) []byte {
	h := recoverHeader(raw)
	if _, err := converterFor(firstComponent(h.charset, h.d), nil); err != nil {
		// Declaring a character set the reply is not written in would mislead the sender.
		h.charset = ""
	}
	v := strings.TrimSpace(firstComponent(h.version, h.d))
	if !plausibleVersion(v) {
		v = "2.4"
		h.version = v
	}
	var errs []AckError
	if err != nil {
		errs = []AckError{ackErrorFor(err)}
	}
	return buildAck(h, v, code, errs, controlID, now)
}

// ackErrorFor turns a parse failure into an ERR entry.
func ackErrorFor(err error) AckError {
	var pe *ParseError
	if !errors.As(err, &pe) {
		return AckError{Code: ErrorInternal, Text: err.Error()}
	}
	e := AckError{Segment: pe.Segment, Sequence: pe.occurrence, Field: pe.Field, Text: pe.Msg}
	switch {
	case errors.Is(pe, ErrMissingControlID), errors.Is(pe, ErrMissingMessageType):
		e.Code = ErrorRequiredFieldMissing
	case errors.Is(pe, ErrUnsupportedVersion):
		e.Code = ErrorUnsupportedVersion
	case errors.Is(pe, ErrUnsupportedCharset):
		e.Code = ErrorTableValueNotFound
	case errors.Is(pe, ErrEncodingCharacters), errors.Is(pe, ErrInvalidText):
		e.Code = ErrorDataType
	default:
		e.Code = ErrorSegmentSequence
	}
	return e
}

// recoverHeader reads what it can from the first MSH segment of raw without validating the
// rest. Values stay encoded in the sender's delimiters, which the reply reuses; control
// characters are dropped so nothing can break the MLLP frame.
func recoverHeader(raw []byte) ackHeader {
	h := ackHeader{d: DefaultDelimiters}
	raw = bytes.TrimPrefix(raw, utf8BOM)
	for len(raw) > 0 {
		k := bytes.IndexAny(raw, "\r\n")
		seg := raw
		if k >= 0 {
			seg, raw = raw[:k], raw[k+1:]
		} else {
			raw = nil
		}
		seg = bytes.TrimLeft(seg, " \t")
		if !bytes.HasPrefix(seg, []byte("MSH")) {
			continue
		}
		d, err := readDelimiters(seg, 0)
		if err != nil {
			return h
		}
		var s Segment
		splitSegment(&s, seg, d, 0)
		get := func(n int) string { return sanitize(s.Field(n).Raw(), maxEcho) }
		h = ackHeader{
			d:       d,
			sendApp: get(3), sendFac: get(4), recvApp: get(5), recvFac: get(6),
			trigger:    sanitize(s.Field(9).Rep(1).Component(2).Raw(), 20),
			controlID:  sanitize(s.Field(10).Rep(1).Component(1).Raw(), maxEcho),
			processing: get(11), version: get(12), country: get(17), charset: get(18), lang: get(19),
		}
		return h
	}
	return h
}

// sanitize copies b without control characters, cut to at most max bytes at a character
// boundary.
func sanitize(b []byte, max int) string {
	out := make([]byte, 0, min(len(b), max))
	for _, c := range b {
		if c >= 0x20 && c != 0x7f {
			out = append(out, c)
		}
	}
	if len(out) > max {
		n := max
		for n > 0 && !utf8.RuneStart(out[n]) {
			n--
		}
		out = out[:n]
	}
	return string(out)
}

func firstComponent(s string, d Delimiters) string {
	if i := strings.IndexByte(s, d.Component); i >= 0 && d.Component != 0 {
		s = s[:i]
	}
	if i := strings.IndexByte(s, d.Repetition); i >= 0 && d.Repetition != 0 {
		s = s[:i]
	}
	return s
}

// plausibleVersion reports whether v looks like an HL7 version id ("2.x[.y]"), worth echoing
// even when unsupported so that the sender can read the reject.
func plausibleVersion(v string) bool {
	if len(v) < 3 || len(v) > 8 || v[0] != '2' || v[1] != '.' {
		return false
	}
	for _, c := range v[2:] {
		if (c < '0' || c > '9') && c != '.' {
			return false
		}
	}
	return true
}

// versionAtLeast reports whether HL7 version v is major.minor or later.
func versionAtLeast(v string, major, minor int) bool {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return false
	}
	a, err1 := strconv.Atoi(parts[0])
	b, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return a > major || a == major && b >= minor
}

func buildAck(h ackHeader, version, code string, errs []AckError, controlID string, now time.Time) []byte {
	switch code {
	case AA, AE, AR, CA, CE, CR:
	default:
		code = AR
	}
	d := h.d
	fs := string(d.Field)
	esc := func(s string) string { return Escape(s, d) }
	if controlID == "" {
		controlID = "ACK" + now.UTC().Format("20060102150405.000000")
	}
	var b bytes.Buffer
	// MSH
	b.WriteString("MSH" + fs + d.EncodingCharacters())
	msh9 := "ACK" + string(d.Component) + h.trigger
	if versionAtLeast(version, 2, 4) || version == "2.3.1" {
		msh9 += string(d.Component) + "ACK"
	}
	if h.trigger == "" {
		msh9 = "ACK"
	}
	fields := []string{
		h.recvApp, h.recvFac, h.sendApp, h.sendFac, // MSH-3..6 swapped
		now.Format("20060102150405-0700"), // MSH-7
		"",                                // MSH-8
		msh9,                              // MSH-9
		esc(controlID),                    // MSH-10
		h.processing,                      // MSH-11
		h.version,                         // MSH-12
		"", "", "", "",                    // MSH-13..16
		h.country, h.charset, h.lang, // MSH-17..19
	}
	for len(fields) > 10 && fields[len(fields)-1] == "" {
		fields = fields[:len(fields)-1]
	}
	for _, v := range fields {
		b.WriteString(fs + v)
	}
	b.WriteByte('\r')

	// MSA
	b.WriteString("MSA" + fs + code + fs + h.controlID)
	modern := versionAtLeast(version, 2, 5)
	if len(errs) > 0 && !versionAtLeast(version, 2, 7) {
		text := errs[0].Text
		if text == "" {
			text = errs[0].Code.Text()
		}
		b.WriteString(fs + esc(text))
	}
	b.WriteByte('\r')

	// ERR
	cs, ss := string(d.Component), string(d.Subcomponent)
	for _, e := range errs {
		seq := e.Sequence
		if seq < 1 {
			seq = 1
		}
		loc := ""
		if e.Segment != "" {
			loc = esc(e.Segment) + cs + strconv.Itoa(seq)
			if e.Field > 0 {
				loc += cs + strconv.Itoa(e.Field)
			}
		}
		code := e.Code
		if code == 0 {
			code = ErrorInternal
		}
		sev := e.Severity
		if sev == "" {
			sev = "E"
		}
		if modern {
			// ERR-1 (withdrawn) | ERR-2 location | ERR-3 code | ERR-4 severity | ERR-5..7 | ERR-8 user message
			b.WriteString("ERR" + fs + fs + loc + fs +
				strconv.Itoa(int(code)) + cs + esc(code.Text()) + cs + "HL70357" + fs +
				esc(sev) + fs + fs + fs + fs + esc(e.Text))
		} else {
			// ERR-1 ELD: segment^sequence^field^code (CE, as subcomponents).
			if loc == "" {
				loc = cs + cs
			} else if e.Field == 0 {
				loc += cs
			}
			ce := strconv.Itoa(int(code))
			if d.Subcomponent != 0 {
				ce += ss + esc(code.Text()) + ss + "HL70357"
			}
			b.WriteString("ERR" + fs + loc + cs + ce)
		}
		b.WriteByte('\r')
	}
	return b.Bytes()
}
