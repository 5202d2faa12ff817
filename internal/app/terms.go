package app

import (
	"github.com/nhs-junction/junction/internal/terminology"
)

// searchTerms answers the terminology-backed token modifiers of search
// from the server's terminology registry.
type searchTerms struct{ reg *terminology.Registry }

func (t searchTerms) ExpandCodes(url string) ([]string, error) {
	exp, err := t.reg.Expand(url, "", 0, -1)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(exp.Contains))
	for _, c := range exp.Contains {
		out = append(out, c.System+"|"+c.Code)
	}
	return out, nil
}

func (t searchTerms) Below(system, code string) ([]string, error) {
	return qualify(system)(t.reg.Descendants(system, code))
}

func (t searchTerms) Above(system, code string) ([]string, error) {
	return qualify(system)(t.reg.Ancestors(system, code))
}

func qualify(system string) func([]string, error) ([]string, error) {
	return func(codes []string, err error) ([]string, error) {
		if err != nil {
			return nil, err
		}
		for i, c := range codes {
			codes[i] = system + "|" + c
		}
		return codes, nil
	}
}
