package fhir

import (
	"bytes"
	"encoding/json"
)

// RewriteReferences returns raw with every Reference.reference string
// passed through fn (which reports whether it changed it), at any depth:
// inside extensions, contained resources and backbone elements. Member
// order and all other bytes of each object are kept.
func RewriteReferences(raw []byte, fn func(ref string) (string, bool)) ([]byte, bool, error) {
	return rewrite(raw, fn)
}

func rewrite(raw []byte, fn func(string) (string, bool)) ([]byte, bool, error) {
	trimmed := bytes.TrimLeft(raw, " \t\r\n")
	if len(trimmed) == 0 {
		return raw, false, nil
	}
	switch trimmed[0] {
	case '{':
		obj, err := ParseObject(raw)
		if err != nil {
			return nil, false, err
		}
		changed := false
		for i, m := range obj.Members {
			if m.Key == "reference" {
				var s string
				if json.Unmarshal(m.Value, &s) == nil {
					if ns, ok := fn(s); ok {
						obj.Members[i].Value, _ = json.Marshal(ns)
						changed = true
					}
				}
				continue
			}
			nv, ch, err := rewrite(m.Value, fn)
			if err != nil {
				return nil, false, err
			}
			if ch {
				obj.Members[i].Value = nv
				changed = true
			}
		}
		if !changed {
			return raw, false, nil
		}
		return obj.Bytes(), true, nil
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, false, err
		}
		changed := false
		for i, it := range items {
			nv, ch, err := rewrite(it, fn)
			if err != nil {
				return nil, false, err
			}
			if ch {
				items[i] = nv
				changed = true
			}
		}
		if !changed {
			return raw, false, nil
		}
		var b bytes.Buffer
		b.WriteByte('[')
		for i, it := range items {
			if i > 0 {
				b.WriteByte(',')
			}
			b.Write(it)
		}
		b.WriteByte(']')
		return b.Bytes(), true, nil
	}
	return raw, false, nil
}
