package fhirpath

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"html"
	"strings"
)

// String functions added in FHIRPath 2.1 (http://hl7.org/fhirpath/2025Jan/#additional-string-functions)
// that the R4 suite already exercises: trim, split, join, encode, decode,
// escape and unescape.
var moreStringFunctions = map[string]fnDef{
	"trim": {0, 0, strFn(func(c *env, n *callNode, s string) ([]Item, error) {
		return []Item{sysItem(strings.TrimSpace(s))}, nil
	}), false},
	"split": {1, 1, strFn(func(c *env, n *callNode, s string) ([]Item, error) {
		sep, ok, err := c.stringArg(n, 0)
		if !ok {
			return nil, err
		}
		parts := strings.Split(s, sep)
		out := make([]Item, len(parts))
		for i, p := range parts {
			out[i] = sysItem(p)
		}
		return out, nil
	}), false},
	"join": {0, 1, func(c *env, n *callNode, f []Item) ([]Item, error) {
		sep := ""
		if len(n.args) == 1 {
			var err error
			if sep, _, err = c.stringArg(n, 0); err != nil {
				return nil, err
			}
		}
		var b strings.Builder
		for i, it := range f {
			v, k := sysValue(it)
			if k != kindString {
				return nil, evalErr("join() needs strings")
			}
			if i > 0 {
				b.WriteString(sep)
			}
			b.WriteString(v.(string))
			if b.Len() > maxStringLen {
				return nil, evalErr("string longer than %d bytes", maxStringLen)
			}
		}
		return []Item{sysItem(b.String())}, nil
	}, false},
	"encode": {1, 1, codecFn(true), false},
	"decode": {1, 1, codecFn(false), false},
	"escape": {1, 1, strFn(func(c *env, n *callNode, s string) ([]Item, error) {
		target, ok, err := c.stringArg(n, 0)
		if !ok {
			return nil, err
		}
		switch target {
		case "html":
			return []Item{sysItem(htmlEscaper.Replace(s))}, nil
		case "json":
			var b bytes.Buffer
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(s); err != nil {
				return nil, err
			}
			q := strings.TrimSuffix(b.String(), "\n")
			return []Item{sysItem(q[1 : len(q)-1])}, nil
		}
		return nil, evalErr("unknown escape target %q", target)
	}), false},
	"unescape": {1, 1, strFn(func(c *env, n *callNode, s string) ([]Item, error) {
		target, ok, err := c.stringArg(n, 0)
		if !ok {
			return nil, err
		}
		switch target {
		case "html":
			return []Item{sysItem(html.UnescapeString(s))}, nil
		case "json":
			// Bare quotes are literal text here, not string delimiters.
			var q strings.Builder
			q.WriteByte('"')
			for i := 0; i < len(s); i++ {
				switch {
				case s[i] == '\\' && i+1 < len(s):
					q.WriteString(s[i : i+2])
					i++
				case s[i] == '"':
					q.WriteString(`\"`)
				default:
					q.WriteByte(s[i])
				}
			}
			q.WriteByte('"')
			var out string
			if err := json.Unmarshal([]byte(q.String()), &out); err != nil {
				return nil, nil
			}
			return []Item{sysItem(out)}, nil
		}
		return nil, evalErr("unknown unescape target %q", target)
	}), false},
}

var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;")

// codecFn implements encode() and decode() for the base64, urlbase64 and
// hex formats; text that does not decode gives empty.
func codecFn(encode bool) fnImpl {
	return strFn(func(c *env, n *callNode, s string) ([]Item, error) {
		format, ok, err := c.stringArg(n, 0)
		if !ok {
			return nil, err
		}
		var enc interface {
			EncodeToString([]byte) string
			DecodeString(string) ([]byte, error)
		}
		switch format {
		case "base64":
			enc = base64.StdEncoding
		case "urlbase64":
			enc = base64.URLEncoding
		case "hex":
			if encode {
				return []Item{sysItem(hex.EncodeToString([]byte(s)))}, nil
			}
			b, err := hex.DecodeString(s)
			if err != nil {
				return nil, nil
			}
			return []Item{sysItem(string(b))}, nil
		default:
			return nil, evalErr("unknown encoding %q", format)
		}
		if encode {
			return []Item{sysItem(enc.EncodeToString([]byte(s)))}, nil
		}
		b, err := enc.DecodeString(s)
		if err != nil {
			return nil, nil
		}
		return []Item{sysItem(string(b))}, nil
	})
}
