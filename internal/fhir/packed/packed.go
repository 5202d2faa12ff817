// Package packed is the text format of the generated tables (spec,
// terminology): one record a line, fields separated by tabs, with \, tab,
// newline, carriage return and backquote escaped so a table fits in a Go
// raw string literal. Generators write it with Line; packages read it
// with ForLines.
package packed

import "strings"

var escaper = strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`, "`", `\q`)

// Escape encodes one field.
func Escape(s string) string {
	if !strings.ContainsAny(s, "\\\t\n\r`") {
		return s
	}
	return escaper.Replace(s)
}

// Line encodes fields as one record (without the newline). It escapes
// the fields in place.
func Line(fields ...string) string {
	for i, f := range fields {
		fields[i] = Escape(f)
	}
	return strings.Join(fields, "\t")
}

// Unescape decodes one field.
func Unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'q':
			b.WriteByte('`')
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// ForLines calls f with the decoded fields of each record of data.
func ForLines(data string, f func([]string)) {
	for data != "" {
		var l string
		l, data, _ = strings.Cut(data, "\n")
		fields := strings.Split(l, "\t")
		for i := range fields {
			fields[i] = Unescape(fields[i])
		}
		f(fields)
	}
}
