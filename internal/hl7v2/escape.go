package hl7v2

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// Delimiters are the separators a message declares in MSH-1 and MSH-2 (HL7 v2.5.1 section
// 2.5.4). A zero byte means the sender declared no such character, so it is ordinary text.
type Delimiters struct {
	Field        byte // MSH-1, normally '|'
	Component    byte // MSH-2 first character, normally '^'
	Repetition   byte // MSH-2 second character, normally '~'
	Escape       byte // MSH-2 third character, normally '\\'
	Subcomponent byte // MSH-2 fourth character, normally '&'
	Truncation   byte // MSH-2 fifth character (v2.7 and later), normally '#'
}

// DefaultDelimiters are the delimiters HL7 recommends, |^~\&, without a truncation character.
var DefaultDelimiters = Delimiters{Field: '|', Component: '^', Repetition: '~', Escape: '\\', Subcomponent: '&'}

// EncodingCharacters returns the MSH-2 value that declares d: component, repetition, escape,
// subcomponent and truncation characters in that order, stopping at the first one not
// declared.
func (d Delimiters) EncodingCharacters() string {
	var b []byte
	for _, c := range []byte{d.Component, d.Repetition, d.Escape, d.Subcomponent, d.Truncation} {
		if c == 0 {
			break
		}
		b = append(b, c)
	}
	return string(b)
}

// isDelim reports whether c is one of the declared delimiter characters.
func (d *Delimiters) isDelim(c byte) bool {
	return c != 0 && (c == d.Field || c == d.Component || c == d.Repetition || c == d.Escape ||
		c == d.Subcomponent || c == d.Truncation)
}

// Escape encodes s as the text of one subcomponent under d (HL7 v2.5.1 section 2.7): each
// delimiter becomes its escape sequence (\F\ \S\ \T\ \R\ \E\ and, when declared, \P\), and
// control characters (including CR and LF, which would end the segment, and the MLLP block
// characters 0x0B and 0x1C) become \Xhh\. When d declares no escape character, delimiters and
// control characters are replaced by spaces, because they cannot be represented.
func Escape(s string, d Delimiters) string {
	need := false
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f || d.isDelim(s[i]) {
			need = true
			break
		}
	}
	if !need {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	const hexdigits = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		var code byte
		switch {
		case c == 0:
		case c == d.Field:
			code = 'F'
		case c == d.Component:
			code = 'S'
		case c == d.Subcomponent:
			code = 'T'
		case c == d.Repetition:
			code = 'R'
		case c == d.Escape:
			code = 'E'
		case c == d.Truncation:
			code = 'P'
		}
		switch {
		case code == 0 && c >= 0x20 && c != 0x7f:
			b.WriteByte(c)
		case d.Escape == 0:
			b.WriteByte(' ')
		case code != 0:
			b.WriteByte(d.Escape)
			b.WriteByte(code)
			b.WriteByte(d.Escape)
		default:
			b.WriteByte(d.Escape)
			b.WriteByte('X')
			b.WriteByte(hexdigits[c>>4])
			b.WriteByte(hexdigits[c&15])
			b.WriteByte(d.Escape)
		}
	}
	return b.String()
}

// unescape decodes the escape sequences of one leaf value (a subcomponent, or a whole field
// or component when the finer delimiters are absent) and returns it as a string. Values
// without the escape character are converted without any scanning beyond one IndexByte.
func unescape(raw []byte, d *Delimiters) string {
	if d.Escape == 0 {
		return string(raw)
	}
	i := bytes.IndexByte(raw, d.Escape)
	if i < 0 {
		return string(raw)
	}
	b := make([]byte, 0, len(raw))
	b = append(b, raw[:i]...)
	for i < len(raw) {
		c := raw[i]
		if c != d.Escape {
			b = append(b, c)
			i++
			continue
		}
		j := bytes.IndexByte(raw[i+1:], d.Escape)
		if j < 0 {
			// Unterminated: keep the rest literally.
			b = append(b, raw[i:]...)
			break
		}
		seq := raw[i+1 : i+1+j]
		next := i + 1 + j + 1
		if out, ok := decodeEscape(b, seq, d); ok {
			b = out
		} else {
			// Unknown sequence: keep it literally, delimiters included.
			b = append(b, raw[i:next]...)
		}
		i = next
	}
	return string(b)
}

// decodeEscape appends the meaning of one escape sequence (without its delimiting escape
// characters) to b. It reports false for sequences it does not know, which the caller keeps
// literally.
func decodeEscape(b, seq []byte, d *Delimiters) ([]byte, bool) {
	if len(seq) == 0 {
		return b, false
	}
	if len(seq) == 1 {
		switch seq[0] {
		case 'F':
			return append(b, d.Field), true
		case 'S':
			return append(b, d.Component), true
		case 'T':
			if d.Subcomponent == 0 {
				return b, false
			}
			return append(b, d.Subcomponent), true
		case 'R':
			return append(b, d.Repetition), true
		case 'E':
			return append(b, d.Escape), true
		case 'P':
			if d.Truncation == 0 {
				return b, false
			}
			return append(b, d.Truncation), true
		case 'H', 'N':
			// Start and end of highlighting (section 2.7.2): no plain-text meaning.
			return b, true
		}
		return b, false
	}
	switch seq[0] {
	case 'X':
		hex := seq[1:]
		if len(hex)%2 != 0 {
			return b, false
		}
		var tmp [64]byte
		raw := tmp[:0]
		for k := 0; k < len(hex); k += 2 {
			hi, ok1 := hexval(hex[k])
			lo, ok2 := hexval(hex[k+1])
			if !ok1 || !ok2 {
				return b, false
			}
			raw = append(raw, hi<<4|lo)
		}
		// The bytes are in the message's character set. Valid UTF-8 is kept; anything else is
		// read as ISO 8859-1, the only single-byte set in which every byte is a character.
		if utf8.Valid(raw) {
			return append(b, raw...), true
		}
		for _, c := range raw {
			b = utf8.AppendRune(b, rune(c))
		}
		return b, true
	case 'C', 'M':
		// Character set switches (section 2.7.4/2.7.5) for ISO 2022 sets, which this package
		// does not support; the text between them is kept as it is.
		return b, true
	case '.':
		cmd := string(seq[1:])
		name, _, _ := strings.Cut(cmd, " ")
		if len(name) >= 2 {
			name = name[:2]
		}
		switch name {
		case "br", "sp":
			return append(b, '\n'), true
		case "in", "ti", "sk", "ce", "fi", "nf":
			return b, true
		}
		return b, false
	}
	return b, false
}

func hexval(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
