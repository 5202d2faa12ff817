package hl7v2

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Sentinel errors carried by ParseError.Err; test them with errors.Is. Each comment says how a
// receiver should answer (HL7 v2.5.1 section 2.9 and table 0357).
var (
	// ErrNoMSH: the input does not start with an MSH segment (or is empty). Answer AR; the
	// reply cannot echo a control id.
	ErrNoMSH = errors.New("message does not start with an MSH segment")
	// ErrEncodingCharacters: MSH-1 or MSH-2 declares unusable delimiters. Answer AR (error code
	// 102) with default delimiters.
	ErrEncodingCharacters = errors.New("invalid encoding characters")
	// ErrSegment: a segment has no valid three-character id. Answer AE or AR (error code 100).
	ErrSegment = errors.New("malformed segment")
	// ErrMissingMessageType: MSH-9 has no message type. Answer AR (error code 101).
	ErrMissingMessageType = errors.New("missing message type (MSH-9)")
	// ErrMissingControlID: MSH-10 is empty, so no acknowledgement can name the message.
	// Answer AR (error code 101); the sender must fix the message.
	ErrMissingControlID = errors.New("missing message control id (MSH-10)")
	// ErrUnsupportedVersion: MSH-12 is absent or outside 2.3 to 2.8.2. Answer AR (error code
	// 203).
	ErrUnsupportedVersion = errors.New("unsupported HL7 version (MSH-12)")
	// ErrUnsupportedCharset: MSH-18 names a character set this package cannot decode. Answer
	// AR (error code 103, table 0211).
	ErrUnsupportedCharset = errors.New("unsupported character set (MSH-18)")
	// ErrInvalidText: the bytes are not valid in the declared character set. Answer AE (error
	// code 102).
	ErrInvalidText = errors.New("text is not valid in the declared character set")
	// ErrBatch: batch segments (FHS, BHS, BTS, FTS) where a single message was expected, a
	// second MSH in one message, or a batch whose structure or counts are wrong. Answer AR.
	ErrBatch = errors.New("batch structure error")
)

// ParseError describes why a message could not be parsed. Every error Parse and ParseBatch
// return is a *ParseError.
type ParseError struct {
	Segment      string // segment id, "" when unknown
	SegmentIndex int    // 1-based position of the segment in the message (MSH is 1); 0 when unknown
	Field        int    // field number in HL7 numbering; 0 when the error is not about one field
	Position     int    // byte offset in the input where the problem is
	Msg          string // human-readable detail, safe to return to the sender
	Err          error  // one of the Err* sentinels

	occurrence int // occurrence of Segment among segments of that name (for ERR-2)
}

// Error names the segment, field and byte position, for example
// "hl7v2: MSH-10 (segment 1, byte 61): missing message control id (MSH-10)".
func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString("hl7v2: ")
	switch {
	case e.Segment != "" && e.Field > 0:
		fmt.Fprintf(&b, "%s-%d (segment %d, byte %d): ", e.Segment, e.Field, e.SegmentIndex, e.Position)
	case e.Segment != "":
		fmt.Fprintf(&b, "%s (segment %d, byte %d): ", e.Segment, e.SegmentIndex, e.Position)
	case e.SegmentIndex > 0:
		fmt.Fprintf(&b, "segment %d (byte %d): ", e.SegmentIndex, e.Position)
	default:
		fmt.Fprintf(&b, "byte %d: ", e.Position)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns the sentinel error, so errors.Is(err, ErrMissingControlID) works.
func (e *ParseError) Unwrap() error { return e.Err }

// supportedVersions are the MSH-12 values Parse accepts (HL7 v2.3 to v2.8.2).
var supportedVersions = map[string]bool{
	"2.3": true, "2.3.1": true, "2.4": true, "2.5": true, "2.5.1": true, "2.6": true,
	"2.7": true, "2.7.1": true, "2.8": true, "2.8.1": true, "2.8.2": true,
}

// SupportedVersion reports whether v (an MSH-12.1 value) is a version Parse accepts.
func SupportedVersion(v string) bool { return supportedVersions[v] }

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// Parse parses one ER7-encoded message. It copies raw, so the caller may reuse the buffer.
// See the package documentation for the encoding rules, character sets and versions
// accepted. Every error is a *ParseError wrapping one of the Err* sentinels; batch files
// (FHS/BHS) are refused with ErrBatch and must go to ParseBatch.
func Parse(raw []byte) (*Message, error) {
	buf := bytes.Clone(raw)
	base := 0
	if bytes.HasPrefix(buf, utf8BOM) {
		buf, base = buf[3:], 3
	}
	lines, over := splitLines(buf, MaxSegments)
	if over >= 0 {
		return nil, tooManySegments(MaxSegments, base+over)
	}
	return parseLines(buf, lines, base)
}

// line is one segment's span in a buffer.
type line struct{ start, end int }

// MaxSegments bounds the segments of one message, and MaxSegments*10 the segments of a batch
// file. Each segment costs about a hundred bytes once parsed, so without a bound a message of
// short lines would make the parser hold many times its own size.
const MaxSegments = 100_000

// splitLines cuts buf at CR and LF, dropping empty and blank (spaces and tabs only) lines. It
// stops after max lines and then reports the position of the first line over the limit.
func splitLines(buf []byte, max int) (out []line, over int) {
	out = make([]line, 0, 16)
	start := 0
	for i := 0; i <= len(buf); i++ {
		if i < len(buf) && buf[i] != '\r' && buf[i] != '\n' {
			continue
		}
		if len(bytes.Trim(buf[start:i], " \t")) > 0 {
			if len(out) == max {
				return out, start
			}
			out = append(out, line{start, i})
		}
		start = i + 1
	}
	return out, -1
}

// tooManySegments is the error for input over a segment bound.
func tooManySegments(max, pos int) error {
	return &ParseError{SegmentIndex: max + 1, Position: pos,
		Msg: fmt.Sprintf("more than %d segments", max), Err: ErrSegment}
}

// parseLines parses the message made of lines of buf; base is buf's offset in the caller's
// input, so that positions in errors refer to the input.
func parseLines(buf []byte, lines []line, base int) (*Message, error) {
	if len(lines) == 0 {
		return nil, &ParseError{Position: base, Msg: ErrNoMSH.Error(), Err: ErrNoMSH}
	}
	first := buf[lines[0].start:lines[0].end]
	if bytes.HasPrefix(first, []byte("FHS")) || bytes.HasPrefix(first, []byte("BHS")) {
		return nil, &ParseError{Segment: string(first[:3]), SegmentIndex: 1, Position: base + lines[0].start,
			Msg: "batch file header; use ParseBatch", Err: ErrBatch, occurrence: 1}
	}
	if !bytes.HasPrefix(first, []byte("MSH")) {
		return nil, &ParseError{SegmentIndex: 1, Position: base + lines[0].start, Msg: ErrNoMSH.Error(), Err: ErrNoMSH}
	}
	d, err := readDelimiters(first, base+lines[0].start)
	if err != nil {
		return nil, err
	}
	m := &Message{Delims: d, raw: buf[:len(buf):len(buf)]}
	slab := make([]Segment, len(lines))
	m.Segments = make([]*Segment, len(lines))

	msh := &slab[0]
	splitSegment(msh, first, d, base+lines[0].start)
	if err := checkHeader(msh); err != nil {
		return nil, err
	}
	m.Charset = strings.TrimSpace(msh.Field(18).String())
	conv, err := converterFor(m.Charset, buf)
	if err != nil {
		return nil, &ParseError{Segment: "MSH", SegmentIndex: 1, Field: 18, Position: fieldPos(msh, 18),
			Msg: fmt.Sprintf("unsupported character set %q", m.Charset), Err: ErrUnsupportedCharset, occurrence: 1}
	}
	if conv != nil {
		splitSegment(msh, conv(first), d, base+lines[0].start)
	}
	m.Segments[0] = msh

	for i, ln := range lines[1:] {
		idx := i + 2
		seg := buf[ln.start:ln.end]
		pos := base + ln.start
		if len(seg) < 3 || !isSegmentName(string(seg[:3])) || (len(seg) > 3 && seg[3] != d.Field) {
			return nil, &ParseError{SegmentIndex: idx, Position: pos,
				Msg: fmt.Sprintf("segment %d does not start with a segment id and the field separator", idx), Err: ErrSegment}
		}
		name := string(seg[:3])
		switch name {
		case "MSH", "FHS", "BHS", "BTS", "FTS":
			return nil, &ParseError{Segment: name, SegmentIndex: idx, Position: pos,
				Msg: name + " segment inside a message; use ParseBatch for batches", Err: ErrBatch}
		}
		if conv != nil {
			seg = conv(seg)
		} else if checkUTF8(m.Charset) {
			if k := invalidUTF8(seg); k >= 0 {
				return nil, &ParseError{Segment: name, SegmentIndex: idx, Position: pos + k,
					Msg: "invalid UTF-8", Err: ErrInvalidText}
			}
		}
		s := &slab[i+1]
		splitSegment(s, seg, d, pos)
		m.Segments[idx-1] = s
	}
	if conv == nil && checkUTF8(m.Charset) {
		if k := invalidUTF8(first); k >= 0 {
			return nil, &ParseError{Segment: "MSH", SegmentIndex: 1, Position: base + lines[0].start + k,
				Msg: "invalid UTF-8", Err: ErrInvalidText}
		}
	}
	return m, nil
}

// readDelimiters reads MSH-1 and MSH-2 (or FHS/BHS-1 and -2) from the start of a header
// segment. HL7 v2.5.1 section 2.5.4: the characters must differ from each other; this
// package also requires printable, non-alphanumeric ASCII, since anything else cannot be
// told apart from data or from segment terminators.
func readDelimiters(seg []byte, pos int) (Delimiters, error) {
	name := string(seg[:3])
	fail := func(field int, at int, msg string) error {
		return &ParseError{Segment: name, SegmentIndex: 1, Field: field, Position: pos + at, Msg: msg,
			Err: ErrEncodingCharacters, occurrence: 1}
	}
	if len(seg) < 4 || !delimiterChar(seg[3]) {
		return Delimiters{}, fail(1, 3, "missing or invalid field separator")
	}
	d := Delimiters{Field: seg[3]}
	enc := seg[4:]
	if k := bytes.IndexByte(enc, d.Field); k >= 0 {
		enc = enc[:k]
	}
	if len(enc) == 0 || len(enc) > 5 {
		return Delimiters{}, fail(2, 4, fmt.Sprintf("%s-2 must hold 1 to 5 encoding characters, found %d", name, len(enc)))
	}
	seen := map[byte]bool{d.Field: true}
	for i, c := range enc {
		if !delimiterChar(c) || seen[c] {
			return Delimiters{}, fail(2, 4+i, fmt.Sprintf("invalid or repeated encoding character %q", c))
		}
		seen[c] = true
	}
	dst := []*byte{&d.Component, &d.Repetition, &d.Escape, &d.Subcomponent, &d.Truncation}
	for i, c := range enc {
		*dst[i] = c
	}
	return d, nil
}

// delimiterChar reports whether c may serve as a delimiter: printable ASCII, not a letter,
// digit or space.
func delimiterChar(c byte) bool {
	return c > 0x20 && c < 0x7f && !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9')
}

// splitSegment fills s from the bytes of one segment. For header segments (MSH, FHS, BHS),
// field 1 is the separator and field 2 the encoding characters, kept literally.
func splitSegment(s *Segment, seg []byte, d Delimiters, pos int) {
	s.Name = string(seg[:3])
	s.d = d
	s.raw = seg[:len(seg):len(seg)]
	s.pos = pos
	s.header = s.Name == "MSH" || s.Name == "FHS" || s.Name == "BHS"
	switch {
	case len(seg) <= 3:
		s.nfields = 0
	case s.header:
		s.nfields = bytes.Count(seg, []byte{d.Field}) + 1
	default:
		s.nfields = bytes.Count(seg, []byte{d.Field})
	}
}

// fieldPos returns the byte position of field n of s in the input.
func fieldPos(s *Segment, n int) int {
	start, _, ok := s.fieldSpan(n)
	if !ok {
		return s.pos + len(s.raw)
	}
	return s.pos + start
}

// checkHeader validates the MSH fields every receiver needs: MSH-9 (type), MSH-10 (control
// id) and MSH-12 (version), in field order so the first problem is reported.
func checkHeader(msh *Segment) error {
	fail := func(field int, msg string, err error) error {
		return &ParseError{Segment: "MSH", SegmentIndex: 1, Field: field, Position: fieldPos(msh, field),
			Msg: msg, Err: err, occurrence: 1}
	}
	if strings.TrimSpace(msh.Field(9).Rep(1).Component(1).String()) == "" {
		return fail(9, ErrMissingMessageType.Error(), ErrMissingMessageType)
	}
	if strings.TrimSpace(msh.Field(10).String()) == "" {
		return fail(10, ErrMissingControlID.Error(), ErrMissingControlID)
	}
	v := strings.TrimSpace(msh.Field(12).String())
	if !supportedVersions[v] {
		if v == "" {
			return fail(12, "missing version id (MSH-12)", ErrUnsupportedVersion)
		}
		return fail(12, fmt.Sprintf("unsupported version id %q (MSH-12); 2.3 to 2.8.2 are supported", v), ErrUnsupportedVersion)
	}
	return nil
}

// converterFor returns the function that converts segment bytes in charset to UTF-8, nil when
// the bytes are used as they are, or an error for an unsupported charset. buf is the whole
// message, inspected only for the tolerant default (empty or ASCII).
func converterFor(charset string, buf []byte) (func([]byte) []byte, error) {
	switch strings.ToUpper(charset) {
	case "", "ASCII":
		if utf8.Valid(buf) {
			return nil, nil
		}
		return latin1, nil
	case "8859/1":
		return latin1, nil
	case "8859/15":
		return latin9, nil
	case "UNICODE UTF-8", "UNICODE", "UTF-8":
		return nil, nil
	}
	return nil, ErrUnsupportedCharset
}

// checkUTF8 reports whether the declared charset requires valid UTF-8.
func checkUTF8(charset string) bool {
	switch strings.ToUpper(charset) {
	case "UNICODE UTF-8", "UNICODE", "UTF-8":
		return true
	}
	return false
}

// invalidUTF8 returns the offset of the first invalid UTF-8 byte in b, or -1.
func invalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return -1
}

// latin1 converts ISO 8859-1 bytes to UTF-8; bytes below 0x80 are unchanged, so the result
// is b itself when it holds only ASCII.
func latin1(b []byte) []byte { return convertSingleByte(b, nil) }

// latin9 converts ISO 8859-15 bytes to UTF-8. It differs from 8859-1 in eight positions
// (ISO/IEC 8859-15:1999, table 1).
func latin9(b []byte) []byte { return convertSingleByte(b, latin9Diff) }

var latin9Diff = map[byte]rune{
	0xA4: '€', 0xA6: 'Š', 0xA8: 'š', 0xB4: 'Ž', 0xB8: 'ž', 0xBC: 'Œ', 0xBD: 'œ', 0xBE: 'Ÿ',
}

func convertSingleByte(b []byte, diff map[byte]rune) []byte {
	k := 0
	for k < len(b) && b[k] < 0x80 {
		k++
	}
	if k == len(b) {
		return b
	}
	out := make([]byte, k, len(b)+len(b)/4+4)
	copy(out, b[:k])
	for _, c := range b[k:] {
		if c < 0x80 {
			out = append(out, c)
			continue
		}
		r := rune(c)
		if x, ok := diff[c]; ok {
			r = x
		}
		out = utf8.AppendRune(out, r)
	}
	return out
}
