package fhir

import (
	"encoding/json"
	"errors"
)

// RewriteReferences returns raw with every Reference.reference string
// passed through fn (which reports whether it changed it), at any depth:
// inside extensions, contained resources and backbone elements. Member
// order and all other bytes of each object are kept.
func RewriteReferences(raw []byte, fn func(ref string) (string, bool)) ([]byte, bool, error) {
	if !json.Valid(raw) {
		return nil, false, errors.New("invalid JSON")
	}
	// One pass over the bytes: a string followed by ':' is a member name;
	// when it is "reference" and its value is a string, the value is
	// replaced. Everything else is copied as it is.
	var out []byte
	last := 0
	changed := false
	for i := 0; i < len(raw); i++ {
		if raw[i] != '"' {
			continue
		}
		end := stringEnd(raw, i)
		j := skipSpace(raw, end+1)
		if j >= len(raw) || raw[j] != ':' {
			i = end
			continue
		}
		isRef := string(raw[i:end+1]) == `"reference"`
		v := skipSpace(raw, j+1)
		if !isRef || raw[v] != '"' {
			i = j
			continue
		}
		vend := stringEnd(raw, v)
		var ref string
		if json.Unmarshal(raw[v:vend+1], &ref) == nil {
			if ns, ok := fn(ref); ok {
				enc, _ := json.Marshal(ns)
				out = append(out, raw[last:v]...)
				out = append(out, enc...)
				last = vend + 1
				changed = true
			}
		}
		i = vend
	}
	if !changed {
		return raw, false, nil
	}
	return append(out, raw[last:]...), true, nil
}

// stringEnd returns the index of the closing quote of the JSON string
// that opens at raw[start]; raw is valid JSON.
func stringEnd(raw []byte, start int) int {
	for i := start + 1; i < len(raw); i++ {
		switch raw[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return len(raw) - 1
}

func skipSpace(raw []byte, i int) int {
	for i < len(raw) && (raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\n' || raw[i] == '\r') {
		i++
	}
	return i
}
