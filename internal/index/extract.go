package index

import (
	"encoding/json"
	"html"
	"regexp"
	"sort"
	"strings"

	"github.com/nhs-junction/junction/internal/fhir/spec"
	"github.com/nhs-junction/junction/internal/searchparam"
)

// stringsOf returns the strings a string parameter matches in v. R4
// search.html 3.1.1.4.10: a HumanName matches on any of its parts and an
// Address on any of its parts, so each part is a value of its own (never
// the object's text, the failure PEERS.md records); the given names and
// family joined are also indexed so "name=John Smith" works.
func stringsOf(v any, typ string) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case map[string]any:
		var out []string
		switch {
		case typ == "HumanName" || (typ == "" && (x["family"] != nil || x["given"] != nil)):
			out = appendStrings(out, x, "family", "given", "prefix", "suffix", "text")
			var full []string
			full = appendStrings(full, x, "given", "family")
			if len(full) > 1 {
				out = append(out, strings.Join(full, " "))
			}
		case typ == "Address" || (typ == "" && (x["line"] != nil || x["city"] != nil || x["postalCode"] != nil)):
			out = appendStrings(out, x, "line", "city", "district", "state", "postalCode", "country", "text")
		default:
			// Other complex types (Annotation, CodeableConcept on a
			// string parameter): every string inside.
			walkStrings(x, func(s string) { out = append(out, s) })
		}
		return out
	}
	return nil
}

func appendStrings(out []string, m map[string]any, keys ...string) []string {
	for _, k := range keys {
		switch x := m[k].(type) {
		case string:
			out = append(out, x)
		case []any:
			for _, e := range x {
				if s, ok := e.(string); ok {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

var contactSystems = map[string]bool{"phone": true, "fax": true, "email": true, "pager": true, "url": true, "sms": true, "other": true}

// tokensOf returns the token rows of v (R4 search.html 3.1.1.4.9, token:
// which element supplies system and code for each data type).
func tokensOf(v any, typ string) []TokenRow {
	switch x := v.(type) {
	case string:
		return []TokenRow{{Code: x}}
	case bool:
		if x {
			return []TokenRow{{Code: "true"}}
		}
		return []TokenRow{{Code: "false"}}
	case map[string]any:
		switch {
		case typ == "CodeableConcept" || (typ == "" && (x["coding"] != nil || (x["text"] != nil && len(x) == 1))):
			var out []TokenRow
			if cs, ok := x["coding"].([]any); ok {
				for _, c := range cs {
					if cm, ok := c.(map[string]any); ok {
						out = append(out, codingRow(cm))
					}
				}
			}
			if t := str(x, "text"); t != "" {
				out = append(out, TokenRow{Text: searchparam.Normalize(t)})
			}
			return out
		case typ == "Identifier" || (typ == "" && x["value"] != nil && !contactSystems[str(x, "system")] && x["code"] == nil):
			base := TokenRow{System: str(x, "system"), Code: str(x, "value")}
			t, _ := x["type"].(map[string]any)
			if t != nil {
				base.Text = searchparam.Normalize(str(t, "text"))
			}
			out := []TokenRow{base}
			if cs, ok := t["coding"].([]any); ok && len(cs) > 0 {
				out = out[:0]
				for _, c := range cs {
					if cm, ok := c.(map[string]any); ok {
						r := base
						r.TypeSystem, r.TypeCode = str(cm, "system"), str(cm, "code")
						out = append(out, r)
					}
				}
			}
			return out
		case typ == "ContactPoint" || (typ == "" && x["value"] != nil):
			return []TokenRow{{System: str(x, "system"), Code: str(x, "value")}}
		case typ == "Coding" || x["code"] != nil || x["system"] != nil:
			return []TokenRow{codingRow(x)}
		}
	}
	return nil
}

func codingRow(m map[string]any) TokenRow {
	return TokenRow{System: str(m, "system"), Code: str(m, "code"), Text: searchparam.Normalize(str(m, "display"))}
}

// refsOf returns the reference rows of a Reference, canonical or uri.
func (ix *Indexer) refsOf(v any) []RefRow {
	switch x := v.(type) {
	case string:
		if r, ok := ix.parseRef(x); ok {
			return []RefRow{r}
		}
	case map[string]any:
		var r RefRow
		ok := false
		if s := str(x, "reference"); s != "" {
			r, ok = ix.parseRef(s)
		}
		if id, _ := x["identifier"].(map[string]any); id != nil {
			r.IdentSystem, r.IdentValue = str(id, "system"), str(id, "value")
			ok = ok || r.IdentValue != ""
		}
		if ok {
			return []RefRow{r}
		}
	}
	return nil
}

// parseRef reads a literal reference (R4 references.html 2.3.0.1):
// "Type/id", "Type/id/_history/v", an absolute URL (under this server's
// base it is relative), a URN, or a canonical "url|version". A reference
// to a contained resource ("#id") is not indexed: contained resources are
// not searched (_contained=false).
func (ix *Indexer) parseRef(s string) (RefRow, bool) {
	if s == "" || strings.HasPrefix(s, "#") {
		return RefRow{}, false
	}
	if ix.base != "" {
		if rest, ok := strings.CutPrefix(s, strings.TrimSuffix(ix.base, "/")+"/"); ok {
			s = rest
		}
	}
	if !strings.Contains(s, ":") {
		segs := strings.Split(s, "/")
		if (len(segs) == 2 || (len(segs) == 4 && segs[2] == "_history")) && spec.IsResourceType(segs[0]) && segs[1] != "" {
			return RefRow{TargetType: segs[0], TargetID: segs[1]}, true
		}
	}
	url, version, _ := strings.Cut(s, "|")
	return RefRow{URL: url, Version: version}, true
}

// datesOf returns the ranges of a date, dateTime, instant, Period or
// Timing (R4 search.html 3.1.1.4.6).
func datesOf(v any, typ string) []searchparam.Range {
	switch x := v.(type) {
	case string:
		if r, err := searchparam.ParseDate(x); err == nil {
			return []searchparam.Range{r}
		}
	case map[string]any:
		if typ == "Timing" || x["event"] != nil || x["repeat"] != nil {
			var out []searchparam.Range
			if ev, ok := x["event"].([]any); ok {
				for _, e := range ev {
					if s, ok := e.(string); ok {
						if r, err := searchparam.ParseDate(s); err == nil {
							out = append(out, r)
						}
					}
				}
			}
			if rep, ok := x["repeat"].(map[string]any); ok {
				if bp, ok := rep["boundsPeriod"].(map[string]any); ok {
					if r, err := searchparam.PeriodRange(str(bp, "start"), str(bp, "end")); err == nil {
						out = append(out, r)
					}
				}
			}
			return out
		}
		if typ == "Period" || x["start"] != nil || x["end"] != nil {
			if r, err := searchparam.PeriodRange(str(x, "start"), str(x, "end")); err == nil {
				return []searchparam.Range{r}
			}
		}
	}
	return nil
}

func numberOf(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := searchparam.IndexNumber(x.String())
		return f, err == nil
	case int64:
		return float64(x), true
	case map[string]any:
		// integer-valued types reached through a Quantity-like element
		if n, ok := x["value"].(json.Number); ok {
			f, err := searchparam.IndexNumber(n.String())
			return f, err == nil
		}
	}
	return 0, false
}

// quantityOf reads a Quantity (or Age, Duration, Distance, Count,
// SimpleQuantity, MoneyQuantity) or Money (currency as an ISO 4217 code).
func quantityOf(v any, typ string) (QuantityRow, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return QuantityRow{}, false
	}
	n, ok := m["value"].(json.Number)
	if !ok {
		return QuantityRow{}, false
	}
	num, err := searchparam.ParseNumber(n.String())
	if err != nil {
		return QuantityRow{}, false
	}
	q := QuantityRow{Value: num.Value, System: str(m, "system"), Code: str(m, "code"), Unit: str(m, "unit")}
	if c := str(m, "currency"); c != "" || typ == "Money" {
		q.System, q.Code = "urn:iso:std:iso:4217", c
	}
	if q.System == searchparam.UCUM {
		if base, factor, ok := searchparam.Canonical(q.Code); ok {
			q.CanonCode, q.CanonValue = base, num.Scale(factor).Value
		}
	}
	return q, true
}

var tagRE = regexp.MustCompile(`<[^>]*>`)

// narrative returns the text of the resource's narrative (_text).
func narrative(res map[string]any) string {
	t, _ := res["text"].(map[string]any)
	div := str(t, "div")
	if div == "" {
		return ""
	}
	return html.UnescapeString(tagRE.ReplaceAllString(div, " "))
}

// content returns every string value of the resource (_content), the
// narrative as text.
func content(res map[string]any) string {
	var parts []string
	walkStrings(res, func(s string) { parts = append(parts, s) })
	return strings.Join(parts, " ")
}

func walkStrings(v any, f func(string)) {
	switch x := v.(type) {
	case string:
		f(x)
	case []any:
		for _, e := range x {
			walkStrings(e, f)
		}
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			switch k {
			case "resourceType", "id", "meta", "url", "system", "reference":
				continue
			case "div":
				if s, ok := x[k].(string); ok {
					f(html.UnescapeString(tagRE.ReplaceAllString(s, " ")))
					continue
				}
			}
			walkStrings(x[k], f)
		}
	}
}

// dedupe drops repeated rows: the same value reached by two paths of a
// union matches the same searches.
func dedupe(r *Rows) {
	r.Strings = uniqRows(r.Strings)
	r.Tokens = uniqRows(r.Tokens)
	r.Refs = uniqRows(r.Refs)
	r.Dates = uniqRows(r.Dates)
	r.Numbers = uniqRows(r.Numbers)
	r.Quantities = uniqRows(r.Quantities)
	r.URIs = uniqRows(r.URIs)
}

func uniqRows[T comparable](rows []T) []T {
	if len(rows) < 2 {
		return rows
	}
	seen := make(map[T]bool, len(rows))
	out := rows[:0]
	for _, x := range rows {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
