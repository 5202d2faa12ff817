package searchparam

import (
	"strings"

	"github.com/nhs-junction/junction/internal/fhir"
)

// values parses the comma-separated values of a filter (ORed,
// search.html 3.1.1.4.x "multiple values").
func (p *parser) values(f *Filter, raw string) error {
	if f.Modifier == ModMissing {
		switch raw {
		case "true":
			f.MissingValue = true
		case "false":
		default:
			return badValue(f.Key, ":missing takes true or false, not %q", raw)
		}
		return nil
	}
	for _, part := range splitEscaped(raw, ',') {
		if part == "" {
			return badValue(f.Key, "empty value")
		}
		v, err := p.value(f.Key, f.Def, f.Modifier, f.TargetType, part)
		if err != nil {
			return err
		}
		f.Values = append(f.Values, v)
	}
	return nil
}

// value parses one value of def (with escapes still in place).
func (p *parser) value(key string, def *Def, mod Modifier, target, raw string) (Value, error) {
	v := Value{Kind: def.Kind, Prefix: PrefixEq}
	switch def.Kind {
	case KindString:
		s := unescape(raw)
		if mod == ModExact {
			v.String = s
		} else {
			v.String = Normalize(s)
		}
	case KindSpecial:
		switch def.Name {
		case "_text", "_content":
			v.String = Normalize(unescape(raw))
		case "near":
			n, err := parseNear(key, raw)
			if err != nil {
				return v, err
			}
			v.Near = n
		default:
			return v, unsupported(key, "the special parameter %s is not supported", def.Name)
		}
	case KindURI:
		v.String = unescape(raw)
	case KindToken:
		t, err := parseToken(key, mod, raw)
		if err != nil {
			return v, err
		}
		v.Token = t
	case KindNumber:
		pre, s := splitPrefix(raw)
		n, err := ParseNumber(s)
		if err != nil {
			return v, badValue(key, "%v", err)
		}
		v.Prefix, v.Number = pre, n
	case KindDate:
		pre, s := splitPrefix(raw)
		r, err := ParseDate(s)
		if err != nil {
			return v, badValue(key, "%v", err)
		}
		v.Prefix, v.Date = pre, r
		if pre == PrefixAp {
			v.Approx = ApproxDate(r, p.opt.Now)
		}
	case KindQuantity:
		q, pre, err := parseQuantity(key, raw)
		if err != nil {
			return v, err
		}
		v.Prefix, v.Quantity = pre, q
	case KindReference:
		r, err := p.reference(key, def, mod, target, raw)
		if err != nil {
			return v, err
		}
		v.Ref = r
	case KindComposite:
		parts := splitEscaped(raw, '$')
		if len(parts) != len(def.Components) {
			return v, badValue(key, "a value of this composite has %d parts joined by $, not %d", len(def.Components), len(parts))
		}
		for i, c := range def.Components {
			cd, ok := p.reg.ByURL(c.Definition)
			if !ok {
				return v, unsupported(key, "component %s is not a known search parameter", c.Definition)
			}
			cv, err := p.value(key, cd, ModNone, "", parts[i])
			if err != nil {
				return v, err
			}
			v.Components = append(v.Components, cv)
		}
	default:
		return v, unsupported(key, "parameters of type %s are not supported", def.Kind)
	}
	return v, nil
}

// parseToken parses [system]|[code] and the :of-type and :text forms
// (search.html 3.1.1.4.9 and 3.1.1.5).
func parseToken(key string, mod Modifier, raw string) (Token, error) {
	var t Token
	if mod == ModText {
		t.Text = Normalize(unescape(raw))
		return t, nil
	}
	parts := splitEscaped(raw, '|')
	if mod == ModOfType {
		if len(parts) != 3 || parts[1] == "" || parts[2] == "" {
			return t, badValue(key, ":of-type takes [type system]|[type code]|[identifier value], not %q", raw)
		}
		t.TypeSystem, t.TypeCode, t.Code = unescape(parts[0]), unescape(parts[1]), unescape(parts[2])
		t.AnySystem = true
		return t, nil
	}
	switch len(parts) {
	case 1:
		t.AnySystem, t.Code = true, unescape(parts[0])
	case 2:
		t.System, t.Code = unescape(parts[0]), unescape(parts[1])
		if t.System == "" && t.Code == "" {
			return t, badValue(key, "%q has neither system nor code", raw)
		}
	default:
		return t, badValue(key, "%q has more than one unescaped |", raw)
	}
	return t, nil
}

// parseQuantity parses [prefix][number]|[system]|[code] (search.html
// 3.1.1.4.8) and works out the canonical UCUM form where one exists.
func parseQuantity(key, raw string) (Quantity, Prefix, error) {
	var q Quantity
	parts := splitEscaped(raw, '|')
	if len(parts) != 1 && len(parts) != 3 {
		return q, "", badValue(key, "%q is not [number] or [number]|[system]|[code]", raw)
	}
	pre, s := splitPrefix(parts[0])
	n, err := ParseNumber(s)
	if err != nil {
		return q, "", badValue(key, "%v", err)
	}
	q.Number = n
	if len(parts) == 1 {
		q.AnySystem = true
		return q, pre, nil
	}
	q.System, q.Code = unescape(parts[1]), unescape(parts[2])
	q.AnySystem = q.System == ""
	if q.Code == "" && !q.AnySystem {
		return q, "", badValue(key, "%q names a system but no unit code", raw)
	}
	if q.System == UCUM {
		if base, factor, ok := Canonical(q.Code); ok {
			q.Canonical, q.CanonicalCode, q.CanonicalNum = true, base, n.Scale(factor)
		}
	}
	return q, pre, nil
}

// reference parses a reference value: id, Type/id, an absolute URL, a
// canonical url|version, or an identifier for :identifier
// (search.html 3.1.1.4.10).
func (p *parser) reference(key string, def *Def, mod Modifier, target, raw string) (Reference, error) {
	var r Reference
	if mod == ModIdentifier {
		t, err := parseToken(key, ModNone, raw)
		if err != nil {
			return r, err
		}
		r.Identifier = t
		return r, nil
	}
	s := unescape(raw)
	if p.opt.Base != "" {
		if rest, ok := strings.CutPrefix(s, strings.TrimSuffix(p.opt.Base, "/")+"/"); ok {
			s = rest
		}
	}
	if strings.Contains(s, ":") {
		// An absolute URL or URN that is not on this server: matched as
		// written, and as a canonical with its version after "|".
		r.URL, r.Version, _ = strings.Cut(s, "|")
		return r, nil
	}
	segs := strings.Split(s, "/")
	if len(segs) == 4 && segs[2] == "_history" {
		// A version-specific reference finds the resource: the index
		// keeps the target of every reference without its version.
		segs = segs[:2]
	}
	switch len(segs) {
	case 1:
		r.ID = segs[0]
		r.Type = target
	case 2:
		r.Type, r.ID = segs[0], segs[1]
		if !p.reg.IsResourceType(r.Type) {
			return r, badValue(key, "%q is not a resource type", r.Type)
		}
		if target != "" && target != r.Type {
			return r, badValue(key, "%q is not %s", s, fhir.A(target))
		}
		if len(def.Targets) > 0 && !containsStr(def.Targets, r.Type) {
			return r, badValue(key, "%s cannot refer to %s", def.Name, r.Type)
		}
	default:
		return r, badValue(key, "%q is not an id, Type/id or absolute URL", s)
	}
	if !fhir.ValidID(r.ID) {
		return r, badValue(key, "%q is not a valid id", r.ID)
	}
	return r, nil
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
