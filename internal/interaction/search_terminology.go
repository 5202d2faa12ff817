package interaction

import (
	"strings"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/fhir/spec"
	"github.com/nhs-junction/junction/internal/searchparam"
)

// Terminology answers the token modifiers that need code systems and
// value sets (R4 search.html 3.1.1.5.5): :in and :not-in expand a value
// set, :below and :above follow the is-a hierarchy of a code system the
// server holds. Each returns the codes as "system|code".
type Terminology interface {
	ExpandCodes(valueSetURL string) ([]string, error)
	Below(system, code string) ([]string, error)
	Above(system, code string) ([]string, error)
}

// maxTerminologyCodes bounds how many codes one modifier may expand to:
// beyond it the search is refused as too costly rather than run partly.
const maxTerminologyCodes = 1000

// expandTokenModifiers rewrites :in, :not-in, :below and :above on token
// parameters of typ into the plain token (or :not) search they mean, so
// the search engine sees only codes. Anything it cannot expand exactly is
// a 400 naming the parameter; a system-level search (typ "") is left
// alone and the parser refuses the modifier.
func (s *Service) expandTokenModifiers(typ string, params []searchparam.Param) ([]searchparam.Param, error) {
	if s.opts.Terminology == nil || typ == "" {
		return params, nil
	}
	out := make([]searchparam.Param, 0, len(params))
	for _, p := range params {
		base, mod, _ := strings.Cut(p.Name, ":")
		if strings.Contains(base, ".") {
			out = append(out, p)
			continue
		}
		def, known := s.opts.Search.Registry.Lookup(typ, base)
		if !known || def.Kind != searchparam.KindToken {
			out = append(out, p)
			continue
		}
		if mod == "" || mod == "not" {
			out = append(out, searchparam.Param{Name: p.Name, Value: s.withImplicitSystems(typ, def, p.Value)})
			continue
		}
		if mod != "in" && mod != "not-in" && mod != "below" && mod != "above" {
			out = append(out, p)
			continue
		}
		var codes []string
		for _, v := range strings.Split(p.Value, ",") {
			var got []string
			var err error
			switch mod {
			case "in", "not-in":
				got, err = s.opts.Terminology.ExpandCodes(v)
				// Elements of type code carry no system in the resource:
				// their system is the one their binding implies, and the
				// index holds them with none. Match those by code alone.
				for _, sc := range got {
					if _, code, ok := strings.Cut(sc, "|"); ok {
						got = append(got, "|"+code)
					}
				}
			default:
				system, code, hasSystem := strings.Cut(v, "|")
				if !hasSystem || system == "" || code == "" {
					return nil, fhir.Errorf(400, fhir.IssueValue, "search parameter %q: :%s needs system|code", p.Name, mod)
				}
				if mod == "below" {
					got, err = s.opts.Terminology.Below(system, code)
				} else {
					got, err = s.opts.Terminology.Above(system, code)
				}
				got = append(got, system+"|"+code)
			}
			if err != nil {
				return nil, fhir.Errorf(400, fhir.IssueNotSupported, "search parameter %q: %v", p.Name, err)
			}
			codes = append(codes, got...)
		}
		if len(codes) == 0 {
			// An empty value set matches nothing (:in) or everything (:not-in).
			if mod == "not-in" {
				continue
			}
			codes = []string{"urn:junction:empty-value-set|"}
		}
		if len(codes) > 2*maxTerminologyCodes {
			return nil, fhir.Errorf(400, fhir.IssueTooCostly, "search parameter %q expands to %d codes, more than the %d this server searches at once", p.Name, len(codes), maxTerminologyCodes)
		}
		name := base
		if mod == "not-in" {
			name = base + ":not"
		}
		for i, c := range codes {
			// Commas inside codes would split the OR list.
			codes[i] = strings.ReplaceAll(c, ",", `\,`)
		}
		out = append(out, searchparam.Param{Name: name, Value: strings.Join(codes, ",")})
	}
	return out, nil
}

// implicitSystems returns the code systems that a token parameter of typ
// searches implicitly: for elements of type code (Patient.gender), the
// resource holds only the code and the system is the one the element's
// required binding draws from, so the index holds such values with no
// system. A search for that system's codes must find them.
func (s *Service) implicitSystems(typ string, def *searchparam.Def) map[string]bool {
	key := typ + "." + def.Name
	if v, ok := s.implicit.Load(key); ok {
		return v.(map[string]bool)
	}
	systems := map[string]bool{}
	for _, part := range strings.Split(def.Expression, "|") {
		path := strings.TrimSpace(part)
		if !strings.HasPrefix(path, typ+".") || strings.ContainsAny(path, "()[] ") {
			continue
		}
		segs := strings.Split(path, ".")
		cur, ok := segs[0], true
		var el spec.Element
		for _, seg := range segs[1:] {
			el, _, ok = spec.Child(cur, seg)
			if !ok {
				break
			}
			cur = el.Path
			if len(el.Types) == 1 && !spec.IsPrimitive(el.Types[0]) && !strings.Contains(el.Types[0], ".") {
				cur = el.Types[0]
			}
		}
		if !ok || len(el.Types) != 1 || el.Types[0] != "code" {
			continue
		}
		b, ok := spec.ElementBinding(el.Path)
		if !ok || b.Strength != "required" {
			continue
		}
		vs, _, _ := strings.Cut(b.ValueSet, "|")
		codes, err := s.opts.Terminology.ExpandCodes(vs)
		if err != nil {
			continue
		}
		for _, sc := range codes {
			if sys, _, ok := strings.Cut(sc, "|"); ok && sys != "" {
				systems[sys] = true
			}
		}
	}
	s.implicit.Store(key, systems)
	return systems
}

// withImplicitSystems adds, to each system|code value of a token
// parameter whose system is implied by a code element's binding, the
// bare code as an alternative (|code), so values stored without their
// implied system are found, and nothing else is.
func (s *Service) withImplicitSystems(typ string, def *searchparam.Def, value string) string {
	if strings.Contains(value, `\`) {
		return value
	}
	systems := s.implicitSystems(typ, def)
	if len(systems) == 0 {
		return value
	}
	vals := strings.Split(value, ",")
	out := vals
	for _, v := range vals {
		if sys, code, ok := strings.Cut(v, "|"); ok && sys != "" && code != "" && systems[sys] {
			out = append(out, "|"+code)
		}
	}
	return strings.Join(out, ",")
}
