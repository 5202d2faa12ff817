package searchtest

import (
	"strings"

	"github.com/nhs-junction/junction/internal/index"
	"github.com/nhs-junction/junction/internal/searchparam"
)

// matches is the reference semantics of one plain filter (no chain or
// _has) over one resource's index rows, written directly from
// search.html and the searchparam Match functions, independently of the
// SQL planner. The Synthea test compares the two.
func matches(fl *searchparam.Filter, r *index.Rows) bool {
	name := fl.Def.Name
	if name == "_id" {
		for _, v := range fl.Values {
			if v.Token.Code == r.ID {
				return fl.Modifier != searchparam.ModNot
			}
		}
		return fl.Modifier == searchparam.ModNot
	}
	any := func(pred func(v searchparam.Value, i int) bool, n int) bool {
		for i := 0; i < n; i++ {
			for _, v := range fl.Values {
				if pred(v, i) {
					return true
				}
			}
		}
		return false
	}
	var found bool
	count := 0
	switch fl.Def.Kind {
	case searchparam.KindString:
		rows := filterRows(r.Strings, func(x index.StringRow) bool { return x.Param == name })
		count = len(rows)
		found = any(func(v searchparam.Value, i int) bool {
			switch fl.Modifier {
			case searchparam.ModExact:
				return rows[i].Exact == v.String
			case searchparam.ModContains:
				return strings.Contains(rows[i].Norm, v.String)
			}
			return strings.HasPrefix(rows[i].Norm, v.String)
		}, len(rows))
	case searchparam.KindToken:
		rows := filterRows(r.Tokens, func(x index.TokenRow) bool { return x.Param == name })
		count = len(rows)
		found = any(func(v searchparam.Value, i int) bool {
			t, x := v.Token, rows[i]
			switch fl.Modifier {
			case searchparam.ModText:
				return strings.HasPrefix(x.Text, t.Text)
			case searchparam.ModOfType:
				return x.TypeSystem == t.TypeSystem && x.TypeCode == t.TypeCode && x.Code == t.Code
			}
			return (t.Code == "" || x.Code == t.Code) && (t.AnySystem || x.System == t.System)
		}, len(rows))
	case searchparam.KindDate:
		rows := filterRows(r.Dates, func(x index.DateRow) bool { return x.Param == name })
		count = len(rows)
		found = any(func(v searchparam.Value, i int) bool {
			return searchparam.MatchRange(v.Prefix, v.Date, v.Approx, searchparam.Range{Low: rows[i].Low, High: rows[i].High})
		}, len(rows))
	case searchparam.KindNumber:
		rows := filterRows(r.Numbers, func(x index.NumberRow) bool { return x.Param == name })
		count = len(rows)
		found = any(func(v searchparam.Value, i int) bool {
			return searchparam.MatchNumber(v.Prefix, v.Number, rows[i].Value)
		}, len(rows))
	case searchparam.KindQuantity:
		rows := filterRows(r.Quantities, func(x index.QuantityRow) bool { return x.Param == name })
		count = len(rows)
		found = any(func(v searchparam.Value, i int) bool {
			q, x := v.Quantity, rows[i]
			if q.Canonical {
				return x.CanonCode == q.CanonicalCode && searchparam.MatchNumber(v.Prefix, q.CanonicalNum, x.CanonValue)
			}
			if !searchparam.MatchNumber(v.Prefix, q.Number, x.Value) {
				return false
			}
			switch {
			case q.AnySystem && q.Code != "":
				return x.Code == q.Code || x.Unit == q.Code
			case !q.AnySystem:
				return x.System == q.System && x.Code == q.Code
			}
			return true
		}, len(rows))
	case searchparam.KindReference:
		rows := filterRows(r.Refs, func(x index.RefRow) bool { return x.Param == name })
		count = len(rows)
		found = any(func(v searchparam.Value, i int) bool {
			ref, x := v.Ref, rows[i]
			if fl.Modifier == searchparam.ModType && x.TargetType != fl.TargetType {
				return false
			}
			switch {
			case fl.Modifier == searchparam.ModIdentifier:
				return x.IdentValue == ref.Identifier.Code && (ref.Identifier.AnySystem || x.IdentSystem == ref.Identifier.System)
			case ref.URL != "":
				return x.URL == ref.URL && (ref.Version == "" || x.Version == ref.Version)
			}
			return x.TargetID == ref.ID && (ref.Type == "" || x.TargetType == ref.Type)
		}, len(rows))
	case searchparam.KindURI:
		rows := filterRows(r.URIs, func(x index.URIRow) bool { return x.Param == name })
		count = len(rows)
		found = any(func(v searchparam.Value, i int) bool {
			switch fl.Modifier {
			case searchparam.ModBelow:
				return strings.HasPrefix(rows[i].URI, v.String)
			case searchparam.ModAbove:
				return strings.HasPrefix(v.String, rows[i].URI)
			}
			return rows[i].URI == v.String
		}, len(rows))
	}
	switch fl.Modifier {
	case searchparam.ModMissing:
		return (count == 0) == fl.MissingValue
	case searchparam.ModNot:
		return !found
	}
	return found
}

func filterRows[T any](rows []T, keep func(T) bool) []T {
	var out []T
	for _, x := range rows {
		if keep(x) {
			out = append(out, x)
		}
	}
	return out
}
