package fhirpath

import (
	"regexp"
	"strconv"
	"strings"
)

// Conversion functions, http://hl7.org/fhirpath/N1/#conversion. Each toX
// returns empty when the single input cannot be converted, and the matching
// convertsToX reports whether it can.
var conversionFunctions = map[string]fnDef{}

type converter func(it Item, v any, k kind) (any, bool)

// registerConversions fills conversionFunctions; functions.go calls it
// before building the function table.
func registerConversions() {
	add := func(name string, conv converter) {
		to := func(c *env, n *callNode, f []Item) ([]Item, error) {
			it, ok, err := singleInput(n, f)
			if !ok {
				return nil, err
			}
			v, k := sysValue(it)
			r, ok := conv(it, v, k)
			if !ok {
				return nil, nil
			}
			return []Item{sysItem(r)}, nil
		}
		conversionFunctions["to"+name] = fnDef{0, 0, to, false}
		conversionFunctions["convertsTo"+name] = fnDef{0, 0, func(c *env, n *callNode, f []Item) ([]Item, error) {
			it, ok, err := singleInput(n, f)
			if !ok {
				return nil, err
			}
			v, k := sysValue(it)
			_, ok = conv(it, v, k)
			return boolItems(ok), nil
		}, false}
	}
	add("Boolean", convBoolean)
	add("Integer", convInteger)
	add("Decimal", convDecimal)
	add("String", convString)
	add("Date", convTemporal(kDate))
	add("DateTime", convTemporal(kDateTime))
	add("Time", convTemporal(kTime))
	add("Quantity", func(it Item, v any, k kind) (any, bool) { return convQuantity(v, k) })
	// toQuantity(unit) converts to the given unit when the units are
	// commensurable; otherwise the result is empty.
	plain := conversionFunctions["toQuantity"].impl
	conversionFunctions["toQuantity"] = fnDef{0, 1, func(c *env, n *callNode, f []Item) ([]Item, error) {
		r, err := plain(c, n, f)
		if err != nil || len(r) == 0 || len(n.args) == 0 {
			return r, err
		}
		unit, ok, err := c.stringArg(n, 0)
		if !ok {
			return nil, err
		}
		q := r[0].v.(quantity)
		return convertUnit(q, unit), nil
	}, false}
	plainC := conversionFunctions["convertsToQuantity"].impl
	conversionFunctions["convertsToQuantity"] = fnDef{0, 1, func(c *env, n *callNode, f []Item) ([]Item, error) {
		if len(n.args) == 0 {
			return plainC(c, n, f)
		}
		r, err := conversionFunctions["toQuantity"].impl(c, n, f)
		if err != nil || len(f) == 0 {
			return nil, err
		}
		return boolItems(len(r) > 0), nil
	}, false}
}

func convertUnit(q quantity, unit string) []Item {
	if comparableUnit(q.unit) == comparableUnit(unit) {
		return []Item{sysItem(quantity{v: q.v, unit: unit})}
	}
	target := quantity{v: decFromInt(1), unit: unit}
	x, one, ok := sameScale(q, target)
	if !ok {
		return nil
	}
	return []Item{sysItem(quantity{v: decimal{r: x.quo(one).r, scale: q.v.scale}, unit: unit})}
}

func convBoolean(_ Item, v any, k kind) (any, bool) {
	switch k {
	case kindBool:
		return v, true
	case kindString:
		switch strings.ToLower(v.(string)) {
		case "true", "t", "yes", "y", "1", "1.0":
			return true, true
		case "false", "f", "no", "n", "0", "0.0":
			return false, true
		}
	case kindInt:
		switch v.(int64) {
		case 1:
			return true, true
		case 0:
			return false, true
		}
	case kindDec:
		d := v.(decimal)
		if d.cmp(decFromInt(1)) == 0 {
			return true, true
		}
		if d.r.Sign() == 0 {
			return false, true
		}
	}
	return nil, false
}

var (
	intPattern = regexp.MustCompile(`^[+-]?\d+$`)
	decPattern = regexp.MustCompile(`^[+-]?\d+(\.\d+)?$`)
	qtyPattern = regexp.MustCompile(`^([+-]?\d+(?:\.\d+)?)\s*(?:'([^']+)'|([a-zA-Z]+))?$`)
)

func convInteger(_ Item, v any, k kind) (any, bool) {
	switch k {
	case kindInt:
		return v, true
	case kindBool:
		if v.(bool) {
			return int64(1), true
		}
		return int64(0), true
	case kindString:
		s := v.(string)
		if intPattern.MatchString(s) {
			n, err := strconv.ParseInt(s, 10, 64)
			return n, err == nil
		}
	}
	return nil, false
}

func convDecimal(_ Item, v any, k kind) (any, bool) {
	switch k {
	case kindDec:
		return v, true
	case kindInt:
		return decFromInt(v.(int64)), true
	case kindBool:
		if v.(bool) {
			return decimal{r: decFromInt(1).r, scale: 1}, true
		}
		return decimal{r: decFromInt(0).r, scale: 1}, true
	case kindString:
		s := v.(string)
		if decPattern.MatchString(s) {
			return parseDecimal(strings.TrimPrefix(s, "+"))
		}
	}
	return nil, false
}

func convString(_ Item, v any, k kind) (any, bool) {
	switch k {
	case kindString:
		return v, true
	case kindBool:
		return strconv.FormatBool(v.(bool)), true
	case kindInt:
		return strconv.FormatInt(v.(int64), 10), true
	case kindDec:
		return v.(decimal).String(), true
	case kindTemporal:
		return v.(temporal).String(), true
	case kindQty:
		return v.(quantity).String(), true
	}
	return nil, false
}

func convTemporal(want temporalKind) converter {
	return func(_ Item, v any, k kind) (any, bool) {
		switch k {
		case kindString:
			s := v.(string)
			var t temporal
			var err error
			switch want {
			case kDate:
				t, err = parseTemporal(s, kDate)
				if err != nil {
					// A dateTime string converts to its date part.
					if t, err = parseTemporal(s, kDateTime); err == nil {
						t.kind = kDate
						t.prec = min(t.prec, pDay)
						t.hasTZ = false
					}
				}
			case kDateTime:
				t, err = parseTemporalAuto(s)
			default:
				t, err = parseTemporal(strings.TrimPrefix(s, "T"), kTime)
			}
			return t, err == nil
		case kindTemporal:
			t := v.(temporal)
			switch {
			case t.kind == want:
				return t, true
			case want == kDateTime && t.kind == kDate:
				t.kind = kDateTime
				return t, true
			case want == kDate && t.kind == kDateTime:
				t.kind = kDate
				t.prec = min(t.prec, pDay)
				t.hasTZ = false
				t.hour, t.minute, t.second, t.milli = 0, 0, 0, 0
				return t, true
			}
		}
		return nil, false
	}
}

func convQuantity(v any, k kind) (any, bool) {
	switch k {
	case kindQty:
		return v, true
	case kindInt:
		return quantity{v: decFromInt(v.(int64)), unit: "1"}, true
	case kindDec:
		return quantity{v: v.(decimal), unit: "1"}, true
	case kindBool:
		d, _ := convDecimal(Item{}, v, k)
		return quantity{v: d.(decimal), unit: "1"}, true
	case kindString:
		m := qtyPattern.FindStringSubmatch(strings.TrimSpace(v.(string)))
		if m == nil {
			return nil, false
		}
		d, ok := parseDecimal(strings.TrimPrefix(m[1], "+"))
		if !ok {
			return nil, false
		}
		unit := "1"
		switch {
		case m[2] != "":
			unit = m[2]
		case m[3] != "":
			// Outside quotes only calendar duration keywords are units
			// (http://hl7.org/fhirpath/N1/#toquantityunit-string-quantity).
			c, ok := calendarPlural[m[3]]
			if !ok {
				return nil, false
			}
			unit = c
		}
		return quantity{v: d, unit: unit}, true
	}
	return nil, false
}
