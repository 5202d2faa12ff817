package interaction

import (
	"strings"

	"github.com/nhs-junction/junction/internal/fhir"
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
		base, mod, ok := strings.Cut(p.Name, ":")
		if !ok || strings.Contains(base, ".") || (mod != "in" && mod != "not-in" && mod != "below" && mod != "above") {
			out = append(out, p)
			continue
		}
		def, known := s.opts.Search.Registry.Lookup(typ, base)
		if !known || def.Kind != searchparam.KindToken {
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
