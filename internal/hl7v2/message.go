package hl7v2

import (
	"bytes"
	"strings"
)

// Null is the HL7 explicit null (HL7 v2.5.1 section 2.5.3): a field or component valued
// with two double quotes, meaning "delete any value held".
const Null = `""`

// Message is one parsed HL7 v2 message. Its values are slices of one private copy of the
// input (converted to UTF-8 when MSH-18 names another character set) and are unescaped only
// when read. A Message is immutable and safe for concurrent reads.
type Message struct {
	// Segments are the message's segments in order; Segments[0] is MSH.
	Segments []*Segment
	// Delims are the delimiters declared in MSH-1 and MSH-2.
	Delims Delimiters
	// Charset is MSH-18.1 as the sender wrote it (empty when absent).
	Charset string

	raw []byte // the message's bytes as received (after the byte-order mark is removed)
}

// Raw returns the message's bytes as received, before any character set conversion, without a
// leading UTF-8 byte-order mark. The caller must not modify them.
func (m *Message) Raw() []byte { return m.raw }

// Segment returns the first segment named name, or nil when there is none.
func (m *Message) Segment(name string) *Segment {
	for _, s := range m.Segments {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// All returns every segment named name, in message order.
func (m *Message) All(name string) []*Segment {
	var out []*Segment
	for _, s := range m.Segments {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

// MSH returns the message header segment, which Parse guarantees to be present.
func (m *Message) MSH() *Segment { return m.Segments[0] }

func (m *Message) header(field, comp int) string {
	return strings.TrimSpace(m.Segments[0].Field(field).Rep(1).Component(comp).String())
}

// ControlID returns MSH-10, the message control id (surrounding spaces removed).
func (m *Message) ControlID() string { return m.header(10, 1) }

// Type returns MSH-9.1, the message type (for example "ADT").
func (m *Message) Type() string { return m.header(9, 1) }

// Trigger returns MSH-9.2, the trigger event (for example "A01").
func (m *Message) Trigger() string { return m.header(9, 2) }

// Structure returns MSH-9.3, the message structure (for example "ADT_A01"); it is empty in
// v2.3 messages, which had no such component.
func (m *Message) Structure() string { return m.header(9, 3) }

// Version returns MSH-12.1, the version id (for example "2.4").
func (m *Message) Version() string { return m.header(12, 1) }

// ProcessingID returns MSH-11.1 (table 0103: P production, T training, D debugging).
func (m *Message) ProcessingID() string { return m.header(11, 1) }

// SendingApp returns MSH-3.1, the sending application's namespace id.
func (m *Message) SendingApp() string { return m.header(3, 1) }

// SendingFacility returns MSH-4.1, the sending facility's namespace id (in NHS feeds usually an
// ODS code).
func (m *Message) SendingFacility() string { return m.header(4, 1) }

// ReceivingApp returns MSH-5.1.
func (m *Message) ReceivingApp() string { return m.header(5, 1) }

// ReceivingFacility returns MSH-6.1.
func (m *Message) ReceivingFacility() string { return m.header(6, 1) }

// AcceptAckType returns MSH-15 (table 0155: AL, NE, ER, SU), upper-cased.
func (m *Message) AcceptAckType() string { return strings.ToUpper(m.header(15, 1)) }

// AppAckType returns MSH-16 (table 0155: AL, NE, ER, SU), upper-cased.
func (m *Message) AppAckType() string { return strings.ToUpper(m.header(16, 1)) }

// Get returns the unescaped value at a terser-style path such as "PID-3(2).1",
// "OBX(3)-5.1" or "MSH-9-2": segment name, optional 1-based occurrence in parentheses, field,
// optional repetition in parentheses, then optional component and subcomponent, each
// introduced by '.' or '-'. A leading "/" or "/." is ignored. Occurrences count segments of
// that name across the whole message (groups are not modelled). A path without a component
// returns the first component, and one without a subcomponent the first subcomponent, as the
// HAPI terser does. Get returns "" for an absent value and for a malformed path.
func (m *Message) Get(path string) string {
	p, ok := parsePath(path, true)
	if !ok {
		return ""
	}
	n := 0
	for _, s := range m.Segments {
		if s.Name == p.seg {
			n++
			if n == p.occ {
				return s.get(p)
			}
		}
	}
	return ""
}

// Segment is one segment of a message.
type Segment struct {
	// Name is the three-character segment id, for example "PID".
	Name string

	d       Delimiters
	raw     []byte // the segment without its terminator
	nfields int    // number of the last field present
	header  bool   // MSH, FHS or BHS: fields 1 and 2 are the delimiters themselves
	pos     int    // byte position of the segment in the input
}

// Fields returns the number of the last field present in the segment (0 when it has none).
func (s *Segment) Fields() int { return s.nfields }

// Field returns field n in HL7 numbering (for MSH, Field(1) is the field separator and
// Field(2) the encoding characters, both returned literally). An absent field is empty.
func (s *Segment) Field(n int) Field {
	start, end, ok := s.fieldSpan(n)
	if !ok {
		return Field{d: &s.d}
	}
	return Field{raw: s.raw[start:end:end], d: &s.d, literal: s.header && n <= 2}
}

// fieldSpan locates field n in s.raw. Fields are found by scanning on each access rather
// than indexed at parse time, so that parsing allocates nothing per field: a message made of
// separators cannot make the parser allocate many times its size.
func (s *Segment) fieldSpan(n int) (start, end int, ok bool) {
	if n < 1 || n > s.nfields {
		return 0, 0, false
	}
	raw, sep := s.raw, s.d.Field
	start = 4
	if s.header {
		switch n {
		case 1:
			return 3, 4, true
		case 2:
			end = len(raw)
			if k := bytes.IndexByte(raw[4:], sep); k >= 0 {
				end = 4 + k
			}
			return 4, end, true
		}
		start = 4 + bytes.IndexByte(raw[4:], sep) + 1 // field 3 starts after MSH-2
		n -= 2
	}
	for ; n > 1; n-- {
		k := bytes.IndexByte(raw[start:], sep)
		if k < 0 {
			return 0, 0, false
		}
		start += k + 1
	}
	end = len(raw)
	if k := bytes.IndexByte(raw[start:], sep); k >= 0 {
		end = start + k
	}
	return start, end, true
}

// Raw returns the segment's text as received (after character set conversion), without its
// terminator. The caller must not modify it.
func (s *Segment) Raw() []byte { return s.raw }

// Get returns the unescaped value at a path relative to the segment, such as "3(2).1" or
// "5-1-2", with the same rules as Message.Get.
func (s *Segment) Get(path string) string {
	p, ok := parsePath(path, false)
	if !ok {
		return ""
	}
	return s.get(p)
}

func (s *Segment) get(p termPath) string {
	f := s.Field(p.field)
	if f.literal {
		if p.rep > 1 || p.comp > 1 || p.sub > 1 {
			return ""
		}
		return string(f.raw)
	}
	return f.Rep(p.rep).Component(p.comp).Sub(p.sub)
}

// Field is one field of a segment, possibly repeating.
type Field struct {
	raw     []byte
	d       *Delimiters
	literal bool // MSH-1 and MSH-2 are never split or unescaped
}

// Raw returns the field's encoded text. The caller must not modify it.
func (f Field) Raw() []byte { return f.raw }

// IsEmpty reports whether the field is absent or empty.
func (f Field) IsEmpty() bool { return len(f.raw) == 0 }

// IsNull reports whether the field is the HL7 explicit null "".
func (f Field) IsNull() bool { return string(f.raw) == Null }

// Reps returns the field's repetitions; an empty field has none.
func (f Field) Reps() []Rep {
	if len(f.raw) == 0 {
		return nil
	}
	if f.literal || f.d.Repetition == 0 {
		return []Rep{{raw: f.raw, d: f.d, literal: f.literal}}
	}
	out := make([]Rep, 0, bytes.Count(f.raw, []byte{f.d.Repetition})+1)
	for part := range bytes.SplitSeq(f.raw, []byte{f.d.Repetition}) {
		out = append(out, Rep{raw: part, d: f.d})
	}
	return out
}

// Rep returns repetition i (1-based); an absent repetition is empty.
func (f Field) Rep(i int) Rep {
	if f.d == nil {
		return Rep{}
	}
	if f.literal {
		if i == 1 {
			return Rep{raw: f.raw, d: f.d, literal: true}
		}
		return Rep{d: f.d}
	}
	return Rep{raw: nth(f.raw, f.d.Repetition, i), d: f.d}
}

// String returns the first component of the first repetition, unescaped (the terser
// convention); for MSH-1 and MSH-2 it returns the delimiters literally.
func (f Field) String() string {
	if f.literal {
		return string(f.raw)
	}
	return f.Rep(1).String()
}

// Rep is one repetition of a field.
type Rep struct {
	raw     []byte
	d       *Delimiters
	literal bool
}

// Raw returns the repetition's encoded text. The caller must not modify it.
func (r Rep) Raw() []byte { return r.raw }

// IsEmpty reports whether the repetition is absent or empty.
func (r Rep) IsEmpty() bool { return len(r.raw) == 0 }

// Components returns the repetition's components; an empty repetition has none.
func (r Rep) Components() []Component {
	if len(r.raw) == 0 {
		return nil
	}
	if r.literal || r.d.Component == 0 {
		return []Component{{raw: r.raw, d: r.d, literal: r.literal}}
	}
	out := make([]Component, 0, bytes.Count(r.raw, []byte{r.d.Component})+1)
	for part := range bytes.SplitSeq(r.raw, []byte{r.d.Component}) {
		out = append(out, Component{raw: part, d: r.d})
	}
	return out
}

// Component returns component i (1-based); an absent component is empty.
func (r Rep) Component(i int) Component {
	if r.d == nil {
		return Component{}
	}
	if r.literal {
		if i == 1 {
			return Component{raw: r.raw, d: r.d, literal: true}
		}
		return Component{d: r.d}
	}
	return Component{raw: nth(r.raw, r.d.Component, i), d: r.d}
}

// String returns the first component, unescaped.
func (r Rep) String() string { return r.Component(1).String() }

// Component is one component of a repetition.
type Component struct {
	raw     []byte
	d       *Delimiters
	literal bool
}

// Raw returns the component's encoded text. The caller must not modify it.
func (c Component) Raw() []byte { return c.raw }

// IsEmpty reports whether the component is absent or empty.
func (c Component) IsEmpty() bool { return len(c.raw) == 0 }

// IsNull reports whether the component is the HL7 explicit null "".
func (c Component) IsNull() bool { return string(c.raw) == Null }

// Subs returns the component's subcomponents, unescaped; an empty component has none.
func (c Component) Subs() []string {
	if len(c.raw) == 0 {
		return nil
	}
	if c.literal || c.d.Subcomponent == 0 {
		return []string{c.Sub(1)}
	}
	var out []string
	for part := range bytes.SplitSeq(c.raw, []byte{c.d.Subcomponent}) {
		out = append(out, unescape(part, c.d))
	}
	return out
}

// Sub returns subcomponent i (1-based), unescaped; an absent subcomponent is "".
func (c Component) Sub(i int) string {
	if c.literal {
		if i == 1 {
			return string(c.raw)
		}
		return ""
	}
	if c.d == nil {
		return ""
	}
	return unescape(nth(c.raw, c.d.Subcomponent, i), c.d)
}

// String returns the first subcomponent, unescaped.
func (c Component) String() string { return c.Sub(1) }

// nth returns the i-th (1-based) part of raw split at sep; a zero sep means raw is one part.
func nth(raw []byte, sep byte, i int) []byte {
	if i < 1 || raw == nil {
		return nil
	}
	if sep == 0 {
		if i == 1 {
			return raw
		}
		return nil
	}
	for ; i > 1; i-- {
		k := bytes.IndexByte(raw, sep)
		if k < 0 {
			return nil
		}
		raw = raw[k+1:]
	}
	if k := bytes.IndexByte(raw, sep); k >= 0 {
		return raw[:k]
	}
	return raw
}
