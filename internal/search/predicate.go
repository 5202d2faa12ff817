package search

import (
	"github.com/nhs-junction/junction/internal/searchparam"
)

// Column names of one kind of value, so the same predicate serves an
// index table and a composite component.
type cols struct {
	system, code, text, typeSystem, typeCode string // token
	norm, exact                              string // string
	low, high                                string // date
	num                                      string // number, quantity value
	unit, canonCode, canonNum                string // quantity
	targetType, targetID, url, version       string // reference
	identSystem, identValue                  string // reference :identifier
	uri                                      string
}

func tableCols(t string) cols {
	return cols{
		system: t + ".system", code: t + ".code", text: t + ".text", typeSystem: t + ".type_system", typeCode: t + ".type_code",
		norm: t + ".norm", exact: t + ".exact", low: t + ".low", high: t + ".high", num: t + ".value",
		unit: t + ".unit", canonCode: t + ".canon_code", canonNum: t + ".canon_value",
		targetType: t + ".target_type", targetID: t + ".target_id", url: t + ".url", version: t + ".version",
		identSystem: t + ".ident_system", identValue: t + ".ident_value", uri: t + ".uri",
	}
}

// componentCols maps component i of search_composite; it must agree with
// how WriteRows stores each kind (componentCols in write.go).
func compositeColsOf(t string, i int) cols {
	p := t + ".c" + string(rune('1'+i)) + "_"
	return cols{
		system: p + "system", code: p + "code", norm: p + "code", low: p + "low", high: p + "high",
		num: p + "num", unit: p + "code", canonCode: p + "canon_code", canonNum: p + "canon_num",
		targetType: p + "system", targetID: p + "code", url: p + "code", uri: p + "code",
	}
}

// tableOf is the index table of a kind.
func tableOf(k searchparam.Kind) string {
	switch k {
	case searchparam.KindString:
		return "search_string"
	case searchparam.KindToken:
		return "search_token"
	case searchparam.KindReference:
		return "search_ref"
	case searchparam.KindDate:
		return "search_date"
	case searchparam.KindNumber:
		return "search_number"
	case searchparam.KindQuantity:
		return "search_quantity"
	case searchparam.KindURI:
		return "search_uri"
	case searchparam.KindComposite:
		return "search_composite"
	}
	return ""
}

// prefixMatch matches strings starting with s with a range an index can
// use (both backends compare text bytewise).
func prefixMatch(col, s string) frag {
	if s == "" {
		return f("1=1")
	}
	if end, ok := prefixEnd(s); ok {
		return f(col+" >= ? AND "+col+" < ?", s, end)
	}
	return f(col+` LIKE ? ESCAPE '\'`, likeEscape(s)+"%")
}

// valuePredicate is the condition on one index row (columns c) for value
// v of a parameter of kind k with modifier mod.
func valuePredicate(k searchparam.Kind, mod searchparam.Modifier, v searchparam.Value, c cols) frag {
	switch k {
	case searchparam.KindString:
		switch mod {
		case searchparam.ModExact:
			return f(c.exact+" = ?", v.String)
		case searchparam.ModContains:
			return f(c.norm+` LIKE ? ESCAPE '\'`, "%"+likeEscape(v.String)+"%")
		}
		return prefixMatch(c.norm, v.String)
	case searchparam.KindToken:
		return tokenPredicate(mod, v.Token, c)
	case searchparam.KindDate:
		return datePredicate(v, c)
	case searchparam.KindNumber:
		return numberPredicate(v.Prefix, v.Number, c.num)
	case searchparam.KindQuantity:
		return quantityPredicate(v, c)
	case searchparam.KindReference:
		return refPredicate(mod, v.Ref, c)
	case searchparam.KindURI:
		switch mod {
		case searchparam.ModBelow:
			return prefixMatch(c.uri, v.String)
		case searchparam.ModAbove:
			// search.html 3.1.1.5.5: :above matches the indexed uris the
			// value starts with.
			return f("substr(?, 1, length("+c.uri+")) = "+c.uri, v.String)
		}
		return f(c.uri+" = ?", v.String)
	}
	return f("1=0")
}

// codeLists writes the plain token values that name a code (with a
// system, or with any system) as one "code IN (...)" list per system,
// which the token index serves in one pass, instead of one term per
// code; a value set of hundreds of codes (:in, :below) becomes a few
// terms. It returns those terms and the values it left for
// tokenPredicate.
func codeLists(values []searchparam.Value, c cols) ([]frag, []searchparam.Value) {
	if len(values) < 2 {
		return nil, values
	}
	type key struct {
		any    bool
		system string
	}
	var order []key
	codes := map[key][]string{}
	var rest []searchparam.Value
	for _, v := range values {
		t := v.Token
		if t.Code == "" {
			rest = append(rest, v)
			continue
		}
		k := key{t.AnySystem, t.System}
		if _, ok := codes[k]; !ok {
			order = append(order, k)
		}
		codes[k] = append(codes[k], t.Code)
	}
	var out []frag
	for _, k := range order {
		list := in(c.code, codes[k])
		if !k.any {
			list = and(list, f(c.system+" = ?", k.system))
		}
		out = append(out, list)
	}
	return out, rest
}

func tokenPredicate(mod searchparam.Modifier, t searchparam.Token, c cols) frag {
	switch mod {
	case searchparam.ModText:
		return and(f(c.text+" <> ''"), prefixMatch(c.text, t.Text))
	case searchparam.ModOfType:
		return f(c.typeSystem+" = ? AND "+c.typeCode+" = ? AND "+c.code+" = ?", t.TypeSystem, t.TypeCode, t.Code)
	}
	var parts []frag
	if t.Code != "" {
		parts = append(parts, f(c.code+" = ?", t.Code))
	}
	if !t.AnySystem {
		parts = append(parts, f(c.system+" = ?", t.System))
	}
	return and(parts...)
}

// datePredicate implements searchparam.MatchRange on index columns.
func datePredicate(v searchparam.Value, c cols) frag {
	s := v.Date
	eq := f(c.low+" >= ? AND "+c.high+" <= ?", s.Low, s.High)
	switch v.Prefix {
	case searchparam.PrefixNe:
		return wrap("NOT (", eq, ")")
	case searchparam.PrefixGt:
		return f(c.high+" > ?", s.High)
	case searchparam.PrefixLt:
		return f(c.low+" < ?", s.Low)
	case searchparam.PrefixGe:
		// Every row either branch selects has high >= s.Low (its range
		// is not empty): that term is one range of the (type, param,
		// high) index, read in order, where the OR alone made SQLite
		// collect both branches' rows before returning any.
		return and(f(c.high+" >= ?", s.Low), or(eq, f(c.high+" > ?", s.High)))
	case searchparam.PrefixLe:
		// Likewise low <= s.High, one range of the low index.
		return and(f(c.low+" <= ?", s.High), or(eq, f(c.low+" < ?", s.Low)))
	case searchparam.PrefixSa:
		return f(c.low+" >= ?", s.High)
	case searchparam.PrefixEb:
		return f(c.high+" <= ?", s.Low)
	case searchparam.PrefixAp:
		return f(c.low+" < ? AND "+c.high+" > ?", v.Approx.High, v.Approx.Low)
	}
	return eq
}

// numberPredicate implements searchparam.MatchNumber on column col.
func numberPredicate(p searchparam.Prefix, n searchparam.Number, col string) frag {
	switch p {
	case searchparam.PrefixNe:
		return f("NOT ("+col+" >= ? AND "+col+" < ?)", n.Low, n.High)
	case searchparam.PrefixGt:
		return f(col+" > ?", n.Value)
	case searchparam.PrefixLt:
		return f(col+" < ?", n.Value)
	case searchparam.PrefixGe:
		return f(col+" >= ?", n.Value)
	case searchparam.PrefixLe:
		return f(col+" <= ?", n.Value)
	case searchparam.PrefixSa:
		return f(col+" >= ?", n.High)
	case searchparam.PrefixEb:
		return f(col+" < ?", n.Low)
	case searchparam.PrefixAp:
		lo, hi := n.Approx()
		return f(col+" >= ? AND "+col+" <= ?", lo, hi)
	}
	return f(col+" >= ? AND "+col+" < ?", n.Low, n.High)
}

// quantityPredicate matches a quantity in its canonical UCUM unit when
// the search unit converts exactly, and otherwise by the unit as written
// (search.html 3.1.1.4.8).
func quantityPredicate(v searchparam.Value, c cols) frag {
	q := v.Quantity
	if q.Canonical {
		return and(f(c.canonCode+" <> '' AND "+c.canonCode+" = ?", q.CanonicalCode), numberPredicate(v.Prefix, q.CanonicalNum, c.canonNum))
	}
	parts := []frag{numberPredicate(v.Prefix, q.Number, c.num)}
	switch {
	case q.AnySystem && q.Code != "":
		parts = append(parts, or(f(c.code+" = ?", q.Code), f(c.unit+" = ?", q.Code)))
	case !q.AnySystem:
		parts = append(parts, f(c.system+" = ? AND "+c.code+" = ?", q.System, q.Code))
	}
	return and(parts...)
}

func refPredicate(mod searchparam.Modifier, r searchparam.Reference, c cols) frag {
	if mod == searchparam.ModIdentifier {
		t := r.Identifier
		parts := []frag{f(c.identValue+" <> '' AND "+c.identValue+" = ?", t.Code)}
		if !t.AnySystem {
			parts = append(parts, f(c.identSystem+" = ?", t.System))
		}
		return and(parts...)
	}
	if r.URL != "" {
		if r.Version != "" {
			return f(c.url+" <> '' AND "+c.url+" = ? AND "+c.version+" = ?", r.URL, r.Version)
		}
		return f(c.url+" <> '' AND "+c.url+" = ?", r.URL)
	}
	if r.Type != "" {
		return f(c.targetID+" = ? AND "+c.targetType+" = ?", r.ID, r.Type)
	}
	return f(c.targetID+" = ?", r.ID)
}
