package fhirpath

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

type tokKind uint8

const (
	tEOF      tokKind = iota
	tIdent            // identifier or keyword; delimited identifiers have quoted=true
	tString           // 'text'
	tNumber           // 12 or 1.5
	tLong             // 12L
	tDate             // @2020-01-01 (text without the '@')
	tDateTime         // @2020-01-01T10:00
	tTime             // @T10:00 (text without the '@T')
	tExtConst         // %name or %'name' or %`name`
	tSpecial          // $this, $index, $total
	tOp               // punctuation and symbolic operators
)

type token struct {
	kind   tokKind
	text   string
	pos    int
	quoted bool // identifier was written `like this`, so it is never a keyword
}

// lex splits an expression into tokens. Comments follow the grammar's
// COMMENT and LINE_COMMENT rules (http://hl7.org/fhirpath/N1/#comments).
func lex(src string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f':
			i++
			continue
		case c == '/' && i+1 < len(src) && src[i+1] == '/':
			for i < len(src) && src[i] != '\n' {
				i++
			}
			continue
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				return nil, syntaxErr(i, "unterminated comment")
			}
			i += end + 4
			continue
		}
		start := i
		switch {
		case isIdentStart(c):
			for i < len(src) && isIdentPart(src[i]) {
				i++
			}
			toks = append(toks, token{kind: tIdent, text: src[start:i], pos: start})
		case c == '`':
			s, n, err := unquote(src[i:], '`')
			if err != nil {
				return nil, syntaxErr(i, err.Error())
			}
			i += n
			toks = append(toks, token{kind: tIdent, text: s, pos: start, quoted: true})
		case c == '\'':
			s, n, err := unquote(src[i:], '\'')
			if err != nil {
				return nil, syntaxErr(i, err.Error())
			}
			i += n
			toks = append(toks, token{kind: tString, text: s, pos: start})
		case c >= '0' && c <= '9':
			for i < len(src) && isDigit(src[i]) {
				i++
			}
			if i+1 < len(src) && src[i] == '.' && isDigit(src[i+1]) {
				i++
				for i < len(src) && isDigit(src[i]) {
					i++
				}
			} else if i < len(src) && src[i] == 'L' {
				toks = append(toks, token{kind: tLong, text: src[start:i], pos: start})
				i++
				continue
			}
			toks = append(toks, token{kind: tNumber, text: src[start:i], pos: start})
		case c == '@':
			t, n, err := lexDateTime(src[i:])
			if err != nil {
				return nil, syntaxErr(i, err.Error())
			}
			t.pos = start
			i += n
			toks = append(toks, t)
		case c == '%':
			i++
			switch {
			case i < len(src) && (src[i] == '`' || src[i] == '\''):
				s, n, err := unquote(src[i:], src[i])
				if err != nil {
					return nil, syntaxErr(i, err.Error())
				}
				i += n
				toks = append(toks, token{kind: tExtConst, text: s, pos: start})
			case i < len(src) && isIdentStart(src[i]):
				for i < len(src) && isIdentPart(src[i]) {
					i++
				}
				toks = append(toks, token{kind: tExtConst, text: src[start+1 : i], pos: start})
			default:
				return nil, syntaxErr(start, "expected a name after '%'")
			}
		case c == '$':
			i++
			for i < len(src) && isIdentPart(src[i]) {
				i++
			}
			switch src[start:i] {
			case "$this", "$index", "$total":
			default:
				return nil, syntaxErr(start, "unknown special variable "+strconv.Quote(src[start:i]))
			}
			toks = append(toks, token{kind: tSpecial, text: src[start:i], pos: start})
		default:
			op := ""
			if i+1 < len(src) {
				switch src[i : i+2] {
				case "<=", ">=", "!=", "!~":
					op = src[i : i+2]
				}
			}
			if op == "" {
				switch c {
				case '.', '[', ']', '(', ')', '{', '}', ',', '+', '-', '*', '/', '&', '|', '<', '>', '=', '~':
					op = src[i : i+1]
				default:
					r, _ := utf8.DecodeRuneInString(src[i:])
					return nil, syntaxErr(i, fmt.Sprintf("unexpected character %q", r))
				}
			}
			i += len(op)
			toks = append(toks, token{kind: tOp, text: op, pos: start})
		}
	}
	toks = append(toks, token{kind: tEOF, pos: len(src)})
	return toks, nil
}

func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
func isIdentStart(c byte) bool { return c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z') }
func isIdentPart(c byte) bool  { return isIdentStart(c) || isDigit(c) }

// unquote reads a quoted string or delimited identifier starting at s[0]
// and returns its value and the number of bytes consumed. Escapes follow
// http://hl7.org/fhirpath/N1/#string.
func unquote(s string, q byte) (string, int, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		if c == q {
			return b.String(), i + 1, nil
		}
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(s) {
			break
		}
		switch s[i] {
		case '\'', '"', '`', '\\', '/':
			b.WriteByte(s[i])
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			if i+4 >= len(s) {
				return "", 0, fmt.Errorf("bad unicode escape")
			}
			v, err := strconv.ParseUint(s[i+1:i+5], 16, 32)
			if err != nil {
				return "", 0, fmt.Errorf("bad unicode escape")
			}
			b.WriteRune(rune(v))
			i += 4
		default:
			return "", 0, fmt.Errorf("bad escape \\%c", s[i])
		}
	}
	return "", 0, fmt.Errorf("unterminated quoted text")
}

// lexDateTime reads @date, @dateTime or @Ttime literals. The shapes are the
// DATE, DATETIME and TIME lexer rules of the grammar
// (http://hl7.org/fhirpath/N1/grammar.html); the value itself is validated
// by parseTemporal.
func lexDateTime(s string) (token, int, error) {
	i := 1
	for i < len(s) && (isDigit(s[i]) || s[i] == '-' || s[i] == ':' || s[i] == '.' || s[i] == 'T' || s[i] == 'Z' || s[i] == '+') {
		if s[i] == '.' && (i+1 >= len(s) || !isDigit(s[i+1])) {
			break
		}
		// A '+' or '-' is part of the literal only as a timezone after a time;
		// otherwise it is an operator (@2012-01-01 + 1 day).
		if (s[i] == '+' || s[i] == '-') && i > 1 {
			if s[i] == '-' && !strings.Contains(s[1:i], "T") {
				i++
				continue
			}
			if !strings.Contains(s[1:i], "T") || i+1 >= len(s) || !isDigit(s[i+1]) {
				break
			}
		}
		i++
	}
	text := s[1:i]
	switch {
	case strings.HasPrefix(text, "T"):
		if _, err := parseTemporal(text[1:], kTime); err != nil {
			return token{}, 0, err
		}
		return token{kind: tTime, text: text[1:]}, i, nil
	case strings.Contains(text, "T"):
		if _, err := parseTemporal(text, kDateTime); err != nil {
			return token{}, 0, err
		}
		return token{kind: tDateTime, text: text}, i, nil
	default:
		if _, err := parseTemporal(text, kDate); err != nil {
			return token{}, 0, err
		}
		return token{kind: tDate, text: text}, i, nil
	}
}
