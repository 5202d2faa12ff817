package index

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"sync"

	"github.com/nhs-junction/junction/internal/fhir/spec"
	"github.com/nhs-junction/junction/internal/fhirpath"
	"github.com/nhs-junction/junction/internal/searchparam"
)

// MaxCombinations bounds the rows one composite value produces (the
// product of its components' values within one element), so a crafted
// resource cannot blow the index up.
const MaxCombinations = 64

// Indexer computes index rows. It caches compiled expressions and is safe
// for concurrent use.
type Indexer struct {
	reg  searchparam.Registry
	base string

	mu    sync.Mutex
	exprs map[string]compiled
}

type compiled struct {
	expr *fhirpath.Expr
	err  error
}

// New returns an Indexer for the parameters of reg. base is this
// server's base URL: absolute references under it are indexed as the
// relative references they name, so Patient/1 and https://base/Patient/1
// find the same resources.
func New(reg searchparam.Registry, base string) *Indexer {
	return &Indexer{reg: reg, base: base, exprs: map[string]compiled{}}
}

func (ix *Indexer) compile(src string) (*fhirpath.Expr, error) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	c, ok := ix.exprs[src]
	if !ok {
		c.expr, c.err = fhirpath.Compile(src)
		ix.exprs[src] = c
	}
	return c.expr, c.err
}

// Index decodes body (a resource's JSON) and returns its rows. It fails
// when a parameter's expression cannot be evaluated, rather than store a
// resource whose index would silently miss values.
func (ix *Indexer) Index(body []byte) (*Rows, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var res map[string]any
	if err := dec.Decode(&res); err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	return ix.IndexDecoded(res)
}

// IndexDecoded is Index for a resource already decoded with UseNumber.
func (ix *Indexer) IndexDecoded(res map[string]any) (*Rows, error) {
	typ, _ := res["resourceType"].(string)
	id, _ := res["id"].(string)
	if !ix.reg.IsResourceType(typ) {
		return nil, fmt.Errorf("index: %q is not a resource type", typ)
	}
	rows := &Rows{Type: typ, ID: id}
	for _, d := range ix.reg.Params(typ) {
		if d.Kind == searchparam.KindSpecial && d.Name != "near" {
			continue
		}
		if d.Expression == "" {
			continue
		}
		items, err := ix.eval(d.Expression, res, nil, "")
		if err != nil {
			return nil, fmt.Errorf("index %s.%s: %w", typ, d.Name, err)
		}
		if d.Kind == searchparam.KindSpecial {
			for _, it := range items {
				if row, ok := positionRow(d, it.Value()); ok {
					rows.Composites = append(rows.Composites, row)
				}
			}
			continue
		}
		if d.Kind == searchparam.KindComposite {
			if err := ix.composite(rows, d, res, items); err != nil {
				return nil, fmt.Errorf("index %s.%s: %w", typ, d.Name, err)
			}
			continue
		}
		before := len(rows.Refs)
		for _, it := range items {
			ix.add(rows, d, it.Value(), it.Type())
		}
		if d.Kind == searchparam.KindReference && len(items) > 0 && len(rows.Refs) == before {
			// The element is there but names nothing a search can
			// match: a contained resource ("#id"), a display or an
			// identifier without a value. :missing follows the element
			// (search.html 3.1.1.5, :missing: not having a value "usually
			// equates to not having the relevant element in the
			// resource"), so the parameter gets a presence row: a
			// RefRow with only Param, which no value predicate, chain or
			// include can match.
			rows.Refs = append(rows.Refs, RefRow{Param: d.Name})
		}
	}
	rows.Text = searchparam.Normalize(narrative(res))
	rows.Content = searchparam.Normalize(content(res))
	rows.Compartments = compartments(rows, id)
	dedupe(rows)
	return rows, nil
}

func (ix *Indexer) eval(src string, res map[string]any, ctx any, ctxType string) (fhirpath.Collection, error) {
	e, err := ix.compile(src)
	if err != nil {
		return nil, err
	}
	opts := &fhirpath.Options{Context: ctx, ContextType: ctxType}
	return e.Evaluate(res, opts)
}

// add indexes one value v (with FHIR type typ, "" when unknown) under d.
func (ix *Indexer) add(rows *Rows, d *searchparam.Def, v any, typ string) {
	switch d.Kind {
	case searchparam.KindString:
		for _, s := range stringsOf(v, typ) {
			rows.Strings = append(rows.Strings, StringRow{Param: d.Name, Norm: searchparam.Normalize(s), Exact: s})
		}
	case searchparam.KindToken:
		for _, t := range tokensOf(v, typ) {
			t.Param = d.Name
			rows.Tokens = append(rows.Tokens, t)
		}
	case searchparam.KindReference:
		for _, r := range ix.refsOf(v) {
			r.Param = d.Name
			rows.Refs = append(rows.Refs, r)
		}
	case searchparam.KindDate:
		for _, r := range datesOf(v, typ) {
			rows.Dates = append(rows.Dates, DateRow{Param: d.Name, Low: r.Low, High: r.High})
		}
	case searchparam.KindNumber:
		if f, ok := numberOf(v); ok {
			rows.Numbers = append(rows.Numbers, NumberRow{Param: d.Name, Value: f})
		}
	case searchparam.KindQuantity:
		if q, ok := quantityOf(v, typ); ok {
			q.Param = d.Name
			rows.Quantities = append(rows.Quantities, q)
		}
	case searchparam.KindURI:
		if s, ok := v.(string); ok {
			rows.URIs = append(rows.URIs, URIRow{Param: d.Name, URI: s})
		}
	}
}

// composite indexes a composite parameter: for each element its
// expression selects, every combination of its components' values.
func (ix *Indexer) composite(rows *Rows, d *searchparam.Def, res map[string]any, items fhirpath.Collection) error {
	defs := make([]*searchparam.Def, len(d.Components))
	for i, c := range d.Components {
		cd, ok := ix.reg.ByURL(c.Definition)
		if !ok {
			return fmt.Errorf("component %s is not a known parameter", c.Definition)
		}
		defs[i] = cd
	}
	for _, it := range items {
		var parts [][]Component
		for i, c := range d.Components {
			vals, err := ix.eval(c.Expression, res, it.Value(), it.Type())
			if err != nil {
				return err
			}
			var tmp Rows
			for _, v := range vals {
				ix.add(&tmp, defs[i], v.Value(), v.Type())
			}
			parts = append(parts, components(&tmp))
		}
		for _, combo := range product(parts) {
			rows.Composites = append(rows.Composites, CompositeRow{Param: d.Name, Components: combo})
		}
	}
	return nil
}

func components(r *Rows) []Component {
	var out []Component
	for _, x := range r.Tokens {
		out = append(out, Component{Token: x})
	}
	for _, x := range r.Strings {
		out = append(out, Component{String: x})
	}
	for _, x := range r.Dates {
		out = append(out, Component{Date: x})
	}
	for _, x := range r.Numbers {
		out = append(out, Component{Number: x})
	}
	for _, x := range r.Quantities {
		out = append(out, Component{Quantity: x})
	}
	for _, x := range r.Refs {
		out = append(out, Component{Ref: x})
	}
	for _, x := range r.URIs {
		out = append(out, Component{URI: x})
	}
	return out
}

func product(parts [][]Component) [][]Component {
	out := [][]Component{nil}
	for _, p := range parts {
		var next [][]Component
		for _, prefix := range out {
			for _, c := range p {
				if len(next) >= MaxCombinations {
					break
				}
				row := append(append([]Component(nil), prefix...), c)
				next = append(next, row)
			}
		}
		out = next
	}
	if len(parts) == 0 {
		return nil
	}
	return out
}

// compartments returns the Patient compartments of the resource from the
// R4 patient CompartmentDefinition: "{def}" is the Patient itself;
// otherwise the patients its compartment parameters refer to.
func compartments(rows *Rows, id string) []string {
	var out []string
	if rows.Type == "Patient" {
		// The compartment of a Patient is identified by that Patient
		// (compartmentdefinition.html), whatever its link parameters say.
		out = append(out, id)
	}
	for _, p := range spec.CompartmentParams("Patient", rows.Type) {
		if p == "{def}" {
			out = append(out, id)
			continue
		}
		for _, r := range rows.Refs {
			if r.Param == p && r.TargetType == "Patient" && r.TargetID != "" {
				out = append(out, r.TargetID)
			}
		}
	}
	sort.Strings(out)
	return uniq(out)
}

func uniq(s []string) []string {
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}
