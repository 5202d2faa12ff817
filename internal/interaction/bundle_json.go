package interaction

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nhs-junction/junction/internal/fhir"
)

// A batch or transaction Bundle is taken apart in place: each entry's
// resource stays a slice of the request body, never a copy. Decoding the
// Bundle as a fhir.Object and then its entries as json.RawMessage copied
// every resource twice, which for a 10,000-entry transaction was two more
// copies of the whole 4.7 MB body held until the response was written.

// errMalformed reports an entry array that is not an array of objects of
// the right shape.
var errMalformed = errors.New("malformed")

// splitBundle checks that body is a JSON object of resourceType Bundle
// and returns its top-level members other than entry (for the type and
// the checks parseResource makes) and its entries. Every value is a slice
// of body.
func splitBundle(body []byte) (*fhir.Object, []rawEntry, error) {
	if len(body) == 0 || !json.Valid(body) {
		// parseResource reports why, as for any other body.
		if _, err := parseResource(body, "Bundle"); err != nil {
			return nil, nil, err
		}
		return nil, nil, fhir.Errorf(400, fhir.IssueStructure, "The body is not valid JSON")
	}
	start := skipSpace(body, 0)
	if body[start] != '{' {
		return nil, nil, fhir.Errorf(400, fhir.IssueStructure, "The body must be a JSON object (a FHIR resource)")
	}
	shell := &fhir.Object{}
	var entries []byte
	seen := map[string]bool{}
	err := eachMember(body[start:], func(key string, val []byte) error {
		if seen[key] {
			return fhir.Errorf(400, fhir.IssueStructure, "The body is not valid JSON: %s", clip(fmt.Sprintf("duplicate member %q", key)))
		}
		seen[key] = true
		if key == "entry" {
			entries = val
			return nil
		}
		shell.Members = append(shell.Members, fhir.Member{Key: key, Value: val})
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if err := checkResourceType(shell, "Bundle"); err != nil {
		return nil, nil, err
	}
	if entries == nil {
		return shell, nil, nil
	}
	raws, err := splitEntries(entries)
	if err != nil {
		return nil, nil, fhir.Errorf(400, fhir.IssueStructure, "Bundle.entry is malformed").At("Bundle.entry")
	}
	return shell, raws, nil
}

// splitEntries reads Bundle.entry (valid JSON): an array of entry objects,
// or null.
func splitEntries(raw []byte) ([]rawEntry, error) {
	switch raw[0] {
	case 'n':
		return nil, nil
	case '[':
	default:
		return nil, errMalformed
	}
	var out []rawEntry
	err := eachElement(raw, func(val []byte) error {
		var e rawEntry
		switch val[0] {
		case 'n':
			out = append(out, e)
			return nil
		case '{':
		default:
			return errMalformed
		}
		err := eachMember(val, func(key string, v []byte) error {
			switch key {
			case "fullUrl":
				return json.Unmarshal(v, &e.FullURL)
			case "request":
				e.Request = nil // a repeated member replaces, as the others do
				return json.Unmarshal(v, &e.Request)
			case "resource":
				e.Resource = v
			}
			return nil
		})
		out = append(out, e)
		return err
	})
	return out, err
}

// eachMember calls fn with each member of the JSON object obj, which must
// be valid JSON: the member's name and its value, a slice of obj.
func eachMember(obj []byte, fn func(key string, val []byte) error) error {
	i := skipSpace(obj, 1) // past '{'
	for i < len(obj) && obj[i] == '"' {
		end := stringEnd(obj, i)
		var key string
		if bytes.IndexByte(obj[i+1:end], '\\') < 0 {
			key = string(obj[i+1 : end])
		} else if err := json.Unmarshal(obj[i:end+1], &key); err != nil {
			return err
		}
		i = skipSpace(obj, end+1) + 1 // past ':'
		i = skipSpace(obj, i)
		vend := valueEnd(obj, i)
		if err := fn(key, obj[i:vend]); err != nil {
			return err
		}
		i = skipSpace(obj, vend)
		if i < len(obj) && obj[i] == ',' {
			i = skipSpace(obj, i+1)
		}
	}
	return nil
}

// eachElement calls fn with each element of the JSON array arr, which
// must be valid JSON.
func eachElement(arr []byte, fn func(val []byte) error) error {
	i := skipSpace(arr, 1) // past '['
	for i < len(arr) && arr[i] != ']' {
		vend := valueEnd(arr, i)
		if err := fn(arr[i:vend]); err != nil {
			return err
		}
		i = skipSpace(arr, vend)
		if i < len(arr) && arr[i] == ',' {
			i = skipSpace(arr, i+1)
		}
	}
	return nil
}

// valueEnd returns the index just past the JSON value that starts at
// raw[i]; raw is valid JSON.
func valueEnd(raw []byte, i int) int {
	switch raw[i] {
	case '"':
		return stringEnd(raw, i) + 1
	case '{', '[':
		depth := 0
		for j := i; j < len(raw); j++ {
			switch raw[j] {
			case '"':
				j = stringEnd(raw, j)
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(raw)
	}
	// A number, true, false or null: up to the next delimiter.
	j := i
	for j < len(raw) {
		switch raw[j] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return j
		}
		j++
	}
	return j
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
