package hl7v2

import (
	"errors"
	"strings"
	"testing"
)

// msg joins segments with CR, the HL7 segment terminator.
func msg(segs ...string) []byte { return []byte(strings.Join(segs, "\r") + "\r") }

const mshADT = `MSH|^~\&|PAS|RCB|ROUTE|ROUTE|201001021215||ADT^A28^ADT_A05|CTRL1|P|2.4`

func mustParse(t *testing.T, raw []byte) *Message {
	t.Helper()
	m, err := Parse(raw)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return m
}

func TestParseHeader(t *testing.T) {
	m := mustParse(t, msg(mshADT+`|||AL|NE||UNICODE UTF-8`, `PID|1||3333333333^^^NHS^NH~D123^^^RCB^MR||SMITH^FREDRICA`))
	checks := map[string][2]string{
		"ControlID":         {m.ControlID(), "CTRL1"},
		"Type":              {m.Type(), "ADT"},
		"Trigger":           {m.Trigger(), "A28"},
		"Structure":         {m.Structure(), "ADT_A05"},
		"Version":           {m.Version(), "2.4"},
		"SendingApp":        {m.SendingApp(), "PAS"},
		"SendingFacility":   {m.SendingFacility(), "RCB"},
		"ReceivingApp":      {m.ReceivingApp(), "ROUTE"},
		"ReceivingFacility": {m.ReceivingFacility(), "ROUTE"},
		"AcceptAckType":     {m.AcceptAckType(), "AL"},
		"AppAckType":        {m.AppAckType(), "NE"},
		"ProcessingID":      {m.ProcessingID(), "P"},
		"Charset":           {m.Charset, "UNICODE UTF-8"},
	}
	for name, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %q, want %q", name, c[0], c[1])
		}
	}
	if got := len(m.Segments); got != 2 {
		t.Fatalf("segments = %d", got)
	}
	if m.Segment("PID") == nil || m.Segment("OBX") != nil || len(m.All("PID")) != 1 {
		t.Error("Segment/All lookup wrong")
	}
}

func TestGetPaths(t *testing.T) {
	m := mustParse(t, msg(
		mshADT,
		`PID|1||3333333333^^^NHS^NH~D123^^^RCB&1.2.3&ISO^MR||SMITH^FREDRICA^J||""|2`,
		`OBX|1|NM|A^Alpha||1`,
		`OBX|2|NM|B^Beta||2`,
		`OBX|3|ST|C^Gamma||three^x&y`,
	))
	tests := []struct{ path, want string }{
		{"MSH-1", "|"},
		{"MSH-2", `^~\&`},
		{"MSH-9", "ADT"},
		{"MSH-9-2", "A28"},
		{"MSH-9.3", "ADT_A05"},
		{"/.MSH-10", "CTRL1"},
		{"PID-3", "3333333333"},
		{"PID-3.4", "NHS"},
		{"PID-3(1).5", "NH"},
		{"PID-3(2).1", "D123"},
		{"PID-3(2).4", "RCB"},
		{"PID-3(2).4.2", "1.2.3"},
		{"PID-3(2)-4-3", "ISO"},
		{"PID-3(3).1", ""},
		{"PID-5.2", "FREDRICA"},
		{"PID-7", `""`},
		{"PID-8", "2"},
		{"PID-99", ""},
		{"OBX(3)-5.1", "three"},
		{"OBX(3)-5.2", "x"},
		{"OBX(3)-5.2.2", "y"},
		{"OBX(2)-3-2", "Beta"},
		{"OBX(4)-5", ""},
		{"ZZZ-1", ""},
		// Malformed paths yield "".
		{"PID", ""}, {"PID-", ""}, {"PID-0", ""}, {"PID-3(0)", ""}, {"PID-3(", ""}, {"pid-3", ""},
		{"PID-3.1.1.1", ""}, {"PID-3x", ""}, {"PID(2-3", ""},
	}
	for _, tt := range tests {
		if got := m.Get(tt.path); got != tt.want {
			t.Errorf("Get(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
	pid := m.Segment("PID")
	if got := pid.Get("3(2).1"); got != "D123" {
		t.Errorf("segment Get = %q", got)
	}
	if !pid.Field(7).IsNull() || pid.Field(8).IsNull() || !pid.Field(2).IsEmpty() {
		t.Error("IsNull/IsEmpty wrong")
	}
	if n := pid.Fields(); n != 8 {
		t.Errorf("Fields() = %d, want 8", n)
	}
	reps := pid.Field(3).Reps()
	if len(reps) != 2 || reps[1].Component(4).Sub(2) != "1.2.3" || len(reps[1].Component(4).Subs()) != 3 {
		t.Errorf("Reps wrong: %d", len(reps))
	}
	if cs := reps[0].Components(); len(cs) != 5 || cs[4].String() != "NH" {
		t.Errorf("Components wrong: %d", len(cs))
	}
	if s := pid.Field(5).String(); s != "SMITH" {
		t.Errorf("Field.String = %q (terser: first component)", s)
	}
	msh := m.Segment("MSH")
	if msh.Field(1).String() != "|" || msh.Field(2).String() != `^~\&` || len(msh.Field(2).Reps()) != 1 {
		t.Error("MSH-1/MSH-2 must be literal")
	}
	if string(pid.Raw()) != `PID|1||3333333333^^^NHS^NH~D123^^^RCB&1.2.3&ISO^MR||SMITH^FREDRICA^J||""|2` {
		t.Errorf("Raw = %q", pid.Raw())
	}
}

func TestDelimitersFromMSH(t *testing.T) {
	// Every delimiter changed: field '#', component '$', repetition '*', escape '!', subcomponent '@'.
	raw := msg(`MSH#$*!@#APP#FAC#RA#RF#20200101##ORU$R01#C9#P#2.5`,
		`PID#1##111$$$NHS$NH*222$$$X@Y$MR##A!F!B!S!C!T!D!R!E!E!F`)
	m := mustParse(t, raw)
	want := Delimiters{Field: '#', Component: '$', Repetition: '*', Escape: '!', Subcomponent: '@'}
	if m.Delims != want {
		t.Fatalf("Delims = %+v", m.Delims)
	}
	if m.Get("MSH-2") != "$*!@" || m.Trigger() != "R01" || m.ControlID() != "C9" {
		t.Errorf("header: %q %q %q", m.Get("MSH-2"), m.Trigger(), m.ControlID())
	}
	if got := m.Get("PID-3(2).4.2"); got != "Y" {
		t.Errorf("PID-3(2).4.2 = %q", got)
	}
	if got := m.Get("PID-5"); got != "A#B$C@D*E!F" {
		t.Errorf("escapes under custom delimiters = %q", got)
	}
	if e := Escape("A#B$C@D*E!F", m.Delims); e != "A!F!B!S!C!T!D!R!E!E!F" {
		t.Errorf("Escape = %q", e)
	}
}

func TestEscapes(t *testing.T) {
	tests := []struct{ raw, want string }{
		{`a\F\b`, "a|b"},
		{`a\S\b\T\c\R\d\E\e`, `a^b&c~d\e`},
		{`\X0D0A\`, "\r\n"},
		{`caf\XC3A9\`, "café"}, // UTF-8 bytes
		{`caf\XE9\`, "café"},   // ISO 8859-1 byte
		{`line1\.br\line2`, "line1\nline2"},
		{`a\.sp 2\b`, "a\nb"},
		{`\H\bold\N\ text`, "bold text"},
		{`\.in 4\x\.ti 2\y\.ce\z`, "xyz"},
		{`\Cxxyy\kanji\M2442\`, "kanji"},
		{`\Zlocal\`, `\Zlocal\`}, // unknown: kept
		{`\Q\`, `\Q\`},
		{`\X0\`, `\X0\`}, // odd hex digits: kept
		{`\XZZ\`, `\XZZ\`},
		{`50\`, `50\`}, // unterminated: kept
		{`\\`, `\\`},   // empty sequence: kept
		{`\P\`, `\P\`}, // truncation escape without a truncation character: kept
		{`plain`, "plain"},
	}
	d := DefaultDelimiters
	for _, tt := range tests {
		if got := unescape([]byte(tt.raw), &d); got != tt.want {
			t.Errorf("unescape(%q) = %q, want %q", tt.raw, got, tt.want)
		}
	}
	d.Truncation = '#'
	if got := unescape([]byte(`a\P\b`), &d); got != "a#b" {
		t.Errorf(`\P\ = %q`, got)
	}
}

func TestEscapeRoundTrip(t *testing.T) {
	d := DefaultDelimiters
	d.Truncation = '#'
	for _, s := range []string{"", "plain", `a|b^c&d~e\f#g`, "cr\rlf\n", "\x0b\x1c\x00", "ünïcödé €"} {
		e := Escape(s, d)
		if strings.ContainsAny(e, "|^&~#\r\n\x0b\x1c") {
			t.Errorf("Escape(%q) = %q still holds a delimiter or control character", s, e)
		}
		if got := unescape([]byte(e), &d); got != s {
			t.Errorf("round trip %q -> %q -> %q", s, e, got)
		}
	}
	none := Delimiters{Field: '|', Component: '^', Repetition: '~'}
	if got := Escape("a|b\rc", none); got != "a b c" {
		t.Errorf("Escape without escape char = %q", got)
	}
}

func TestLineEndings(t *testing.T) {
	segs := []string{mshADT, "EVN||201001021213", "PID|1||123^^^NHS"}
	for name, raw := range map[string]string{
		"CR":              strings.Join(segs, "\r") + "\r",
		"CR no final":     strings.Join(segs, "\r"),
		"LF":              strings.Join(segs, "\n") + "\n",
		"CRLF":            strings.Join(segs, "\r\n") + "\r\n",
		"CRLF no final":   strings.Join(segs, "\r\n"),
		"blank lines":     "\r\n" + strings.Join(segs, "\r\n\r\n") + "\n\n  \n",
		"BOM":             "\xEF\xBB\xBF" + strings.Join(segs, "\n"),
		"mixed endings":   segs[0] + "\r" + segs[1] + "\n" + segs[2] + "\r\n",
		"trailing spaces": segs[0] + " \r" + segs[1] + " \r" + segs[2] + " \r",
	} {
		m, err := Parse([]byte(raw))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(m.Segments) != 3 || m.Get("PID-3.1") != "123" || strings.TrimSpace(m.Get("EVN-2")) != "201001021213" {
			t.Errorf("%s: %d segments, PID-3.1=%q", name, len(m.Segments), m.Get("PID-3.1"))
		}
	}
}

func TestCharsets(t *testing.T) {
	name := func(b []byte) []byte {
		return append(append([]byte("PID|1||1||"), b...), '\r')
	}
	tests := []struct {
		charset string
		body    []byte
		want    string
		err     error
	}{
		{"", []byte("Zoë"), "Zoë", nil},    // UTF-8 under the default: kept
		{"", []byte("Zo\xEB"), "Zoë", nil}, // not UTF-8 under the default: read as 8859-1
		{"ASCII", []byte("Zoe"), "Zoe", nil},
		{"8859/1", []byte("Zo\xEB \xA4"), "Zoë ¤", nil},
		{"8859/15", []byte("Zo\xEB \xA4"), "Zoë €", nil},
		{"UNICODE UTF-8", []byte("Zoë – ✓"), "Zoë – ✓", nil},
		{"UNICODE", []byte("Zoë"), "Zoë", nil},
		{"UNICODE UTF-8", []byte("Zo\xEB"), "", ErrInvalidText},
		{"ISO IR87", []byte("x"), "", ErrUnsupportedCharset},
		{"UNICODE UTF-16", []byte("x"), "", ErrUnsupportedCharset},
	}
	for _, tt := range tests {
		raw := append([]byte(mshADT+"||||||"+tt.charset+"\r"), name(tt.body)...)
		m, err := Parse(raw)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("%q: err = %v, want %v", tt.charset, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.charset, err)
			continue
		}
		if got := m.Get("PID-5"); got != tt.want {
			t.Errorf("%q: PID-5 = %q, want %q", tt.charset, got, tt.want)
		}
	}
	// A non-ASCII sending facility before MSH-18 is converted too.
	m := mustParse(t, []byte("MSH|^~\\&|APP|H\xF4pital|R|R|2020||ADT^A01|1|P|2.5||||||8859/1\r"))
	if m.SendingFacility() != "Hôpital" {
		t.Errorf("MSH-4 = %q", m.SendingFacility())
	}
}

func TestVersions(t *testing.T) {
	for _, v := range []string{"2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8", "2.8.1", "2.8.2", "2.5.1^GBR^2.4"} {
		raw := msg(`MSH|^~\&|A|B|C|D|2020||ADT^A01|1|P|` + v)
		if _, err := Parse(raw); err != nil {
			t.Errorf("version %q refused: %v", v, err)
		}
	}
	for _, v := range []string{"", "2.1", "2.2", "2.9", "3.0", "2.4.9", "v2.4"} {
		raw := msg(`MSH|^~\&|A|B|C|D|2020||ADT^A01|1|P|` + v)
		_, err := Parse(raw)
		var pe *ParseError
		if !errors.Is(err, ErrUnsupportedVersion) || !errors.As(err, &pe) || pe.Field != 12 || pe.Segment != "MSH" {
			t.Errorf("version %q: err = %v", v, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name  string
		raw   string
		err   error
		seg   string
		field int
		pos   int
	}{
		{"empty", "", ErrNoMSH, "", 0, 0},
		{"blank", "\r\n  \n", ErrNoMSH, "", 0, 0},
		{"no MSH", "PID|1\r", ErrNoMSH, "", 0, 0},
		{"batch", "FHS|^~\\&\rMSH|^~\\&|A", ErrBatch, "FHS", 0, 0},
		{"MSH only", "MSH", ErrEncodingCharacters, "MSH", 1, 3},
		{"alnum separator", "MSHX^~\\&|", ErrEncodingCharacters, "MSH", 1, 3},
		{"no encoding chars", "MSH||A|B", ErrEncodingCharacters, "MSH", 2, 4},
		{"repeated encoding char", "MSH|^^\\&|A", ErrEncodingCharacters, "MSH", 2, 5},
		{"six encoding chars", "MSH|^~\\&#!|A", ErrEncodingCharacters, "MSH", 2, 4},
		{"letter encoding char", "MSH|^~\\A|A", ErrEncodingCharacters, "MSH", 2, 7},
		{"missing MSH-9", "MSH|^~\\&|A|B|C|D|2020|||1|P|2.4", ErrMissingMessageType, "MSH", 9, 23},
		{"missing MSH-9.1", "MSH|^~\\&|A|B|C|D|2020||^A01|1|P|2.4", ErrMissingMessageType, "MSH", 9, 23},
		{"missing MSH-10", "MSH|^~\\&|A|B|C|D|2020||ADT^A01||P|2.4", ErrMissingControlID, "MSH", 10, 31},
		{"blank MSH-10", "MSH|^~\\&|A|B|C|D|2020||ADT^A01|  |P|2.4", ErrMissingControlID, "MSH", 10, 31},
		{"short MSH", "MSH|^~\\&|A", ErrMissingMessageType, "MSH", 9, 10},
		{"bad segment name", mshADT + "\rpid|1", ErrSegment, "", 0, len(mshADT) + 1},
		{"segment name without separator", mshADT + "\rPIDX1", ErrSegment, "", 0, len(mshADT) + 1},
		{"short segment", mshADT + "\rPI", ErrSegment, "", 0, len(mshADT) + 1},
		{"second MSH", mshADT + "\r" + mshADT, ErrBatch, "MSH", 0, len(mshADT) + 1},
		{"trailer in message", mshADT + "\rFTS|1", ErrBatch, "FTS", 0, len(mshADT) + 1},
		{"invalid UTF-8 position", mshADT + "||||||UNICODE UTF-8\rPID|ab\xFF", ErrInvalidText, "PID", 0, len(mshADT) + 26},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.raw))
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%s: err = %v (%T), want *ParseError", tt.name, err, err)
			continue
		}
		if !errors.Is(err, tt.err) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.err)
		}
		if pe.Segment != tt.seg || pe.Field != tt.field || pe.Position != tt.pos {
			t.Errorf("%s: got segment %q field %d position %d, want %q %d %d (%v)",
				tt.name, pe.Segment, pe.Field, pe.Position, tt.seg, tt.field, tt.pos, err)
		}
	}
	_, err := Parse([]byte("MSH|^~\\&|A|B|C|D|2020||ADT^A01||P|2.4"))
	if got := err.Error(); got != "hl7v2: MSH-10 (segment 1, byte 31): missing message control id (MSH-10)" {
		t.Errorf("Error() = %q", got)
	}
}

func TestParseCopiesInput(t *testing.T) {
	raw := msg(mshADT, "PID|1||123")
	m := mustParse(t, raw)
	for i := range raw {
		raw[i] = 'x'
	}
	if m.Get("PID-3") != "123" || m.ControlID() != "CTRL1" {
		t.Error("message changed when the caller reused its buffer")
	}
}

func TestEmptyFieldsAndSegments(t *testing.T) {
	m := mustParse(t, msg(mshADT, "ACC", "ZU8|U|1|Yes|", "NTE|"))
	if len(m.Segments) != 4 {
		t.Fatalf("segments = %d", len(m.Segments))
	}
	acc := m.Segment("ACC")
	if acc.Fields() != 0 || !acc.Field(1).IsEmpty() || acc.Get("1") != "" || acc.Field(1).Reps() != nil {
		t.Error("empty segment")
	}
	if zu := m.Segment("ZU8"); zu.Fields() != 4 || zu.Get("3") != "Yes" {
		t.Errorf("ZU8 fields = %d", zu.Fields())
	}
	var zero Field
	if zero.String() != "" || zero.Rep(2).Component(3).Sub(4) != "" || zero.Reps() != nil {
		t.Error("zero Field must read as empty")
	}
}

func TestSegmentBound(t *testing.T) {
	var b strings.Builder
	b.WriteString(mshADT)
	for range MaxSegments {
		b.WriteString("\rNTE")
	}
	_, err := Parse([]byte(b.String()))
	var pe *ParseError
	if !errors.As(err, &pe) || !errors.Is(err, ErrSegment) || pe.SegmentIndex != MaxSegments+1 {
		t.Fatalf("err = %v", err)
	}
	if _, err := ParseBatch([]byte(b.String())); !errors.Is(err, ErrSegment) {
		t.Errorf("ParseBatch: %v", err)
	}
	// One segment fewer is accepted.
	m, err := Parse([]byte(strings.TrimSuffix(b.String(), "\rNTE")))
	if err != nil || len(m.Segments) != MaxSegments {
		t.Fatalf("at the bound: %v", err)
	}
}

// TestParseMemoryBounded checks that a message made only of separators costs Parse little
// more than its own size.
func TestParseMemoryBounded(t *testing.T) {
	raw := []byte(mshADT + "\rPID" + strings.Repeat("|", 1<<20))
	allocs := testing.AllocsPerRun(3, func() {
		m, err := Parse(raw)
		if err != nil || m.Segment("PID").Fields() != 1<<20 {
			t.Fatalf("%v", err)
		}
	})
	if allocs > 20 {
		t.Errorf("%v allocations", allocs)
	}
}
