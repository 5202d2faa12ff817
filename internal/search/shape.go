package search

import (
	"encoding/json"
	"strings"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/fhir/spec"
	"github.com/nhs-junction/junction/internal/searchparam"
)

// subsetted is the meta.tag R4 asks for on a resource returned in part
// (search.html 3.1.1.5.9, _summary and _elements).
const subsetted = `{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationValue","code":"SUBSETTED"}`

// Shape applies _summary and _elements to one resource body of a search
// result (search.html 3.2.1.5.9 and 3.2.1.5.10):
//
//	_summary=text  id, meta, text and the mandatory top-level elements
//	_summary=data  everything but text
//	_summary=true  the elements the specification marks isSummary, which
//	               isSummary answers ("Patient", "birthDate"); nil makes
//	               _summary=true a 400, since guessing would be wrong
//	_elements      the named top-level elements, with id, meta and the
//	               mandatory elements
//
// A shaped resource carries the SUBSETTED tag. Members keep their order
// and bytes. Shape returns body unchanged when neither applies.
func Shape(body []byte, q *searchparam.Query, isSummary func(typ, element string) bool) ([]byte, error) {
	if (q.Summary == searchparam.SummaryNone || q.Summary == searchparam.SummaryFalse) && len(q.Elements) == 0 {
		return body, nil
	}
	o, err := fhir.ParseObject(body)
	if err != nil {
		return nil, err
	}
	typ, _ := o.GetString("resourceType")
	keep := map[string]bool{"resourceType": true, "id": true, "meta": true}
	mandatory := func() {
		for _, e := range spec.Children(typ) {
			if e.Min > 0 {
				keep[e.Name] = true
			}
		}
	}
	switch q.Summary {
	case searchparam.SummaryText:
		keep["text"] = true
		mandatory()
	case searchparam.SummaryData:
		o.Delete("text")
		return tagSubsetted(o)
	case searchparam.SummaryTrue:
		if isSummary == nil {
			return nil, fhir.Errorf(400, fhir.IssueNotSupported, "search parameter \"_summary\": _summary=true is not supported yet")
		}
		for _, e := range spec.Children(typ) {
			if isSummary(typ, e.Name) {
				keep[e.Name] = true
			}
		}
	default:
		for _, e := range q.Elements {
			if t, name, ok := strings.Cut(e, "."); ok {
				if t != typ {
					continue
				}
				e = name
			}
			keep[strings.TrimSuffix(e, "[x]")] = true
		}
		mandatory()
	}
	var members []fhir.Member
	for _, m := range o.Members {
		if keep[elementName(typ, strings.TrimPrefix(m.Key, "_"))] {
			members = append(members, m)
		}
	}
	o.Members = members
	return tagSubsetted(o)
}

// elementName maps a JSON member to its element name: "valueQuantity" is
// the choice element "value".
func elementName(typ, key string) string {
	if el, _, ok := spec.Child(typ, key); ok {
		return el.Name
	}
	return key
}

func tagSubsetted(o *fhir.Object) ([]byte, error) {
	meta := &fhir.Object{}
	if raw, ok := o.Get("meta"); ok {
		m, err := fhir.ParseObject(raw)
		if err != nil {
			return nil, err
		}
		meta = m
	}
	var tags []json.RawMessage
	if raw, ok := meta.Get("tag"); ok {
		if err := json.Unmarshal(raw, &tags); err != nil {
			return nil, err
		}
	}
	tags = append(tags, json.RawMessage(subsetted))
	b, _ := json.Marshal(tags)
	meta.Set("tag", b)
	o.Set("meta", meta.Bytes(), "id", "resourceType")
	return o.Bytes(), nil
}
