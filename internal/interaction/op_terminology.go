package interaction

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/store"
	"github.com/nhs-junction/junction/internal/terminology"
)

// RegisterTerminology adds the terminology operations of R4
// terminology-service.html over reg: CodeSystem/$lookup,
// CodeSystem/$subsumes, ValueSet/$expand and ValueSet/$validate-code.
// Code systems outside reg (SNOMED CT, LOINC, dm+d ...) are reported as
// not available, never guessed.
func (s *Service) RegisterTerminology(reg *terminology.Registry) {
	s.Register(OperationDef{Name: "lookup", Scope: ScopeType, Types: []string{"CodeSystem"}, Safe: true,
		Definition: "http://hl7.org/fhir/OperationDefinition/CodeSystem-lookup",
		Do: func(ctx context.Context, req *Request) (*Response, error) {
			p, _, err := ReadParams(req)
			if err != nil {
				return nil, err
			}
			system, code := codingParam(p, "coding")
			if s, ok := p.String("system"); ok {
				system = s
			}
			if c, ok := p.String("code"); ok {
				code = c
			}
			if system == "" || code == "" {
				return nil, fhir.Errorf(400, fhir.IssueRequired, "$lookup needs system and code (or coding)")
			}
			c, ok := reg.Lookup(system, code)
			if !ok {
				return nil, fhir.Errorf(404, fhir.IssueNotFound, "Code %q is not known in %s (or the code system is not available on this server)", clip(code), clip(system))
			}
			out := parameters{}
			out.add("name", "valueString", nameOf(system))
			if c.Version != "" {
				out.add("version", "valueString", c.Version)
			}
			if c.Display != "" {
				out.add("display", "valueString", c.Display)
			}
			if c.Definition != "" {
				out.add("definition", "valueString", c.Definition)
			}
			for _, pr := range c.Properties {
				out.addPart("property", part{"code", "valueCode", pr.Code}, propertyValue(pr))
			}
			for _, parent := range c.Parents {
				out.addPart("property", part{"code", "valueCode", "parent"}, part{"value", "valueCode", parent})
			}
			for _, child := range c.Children {
				out.addPart("property", part{"code", "valueCode", "child"}, part{"value", "valueCode", child})
			}
			return &Response{Status: http.StatusOK, Body: out.bytes()}, nil
		}})
	s.Register(OperationDef{Name: "subsumes", Scope: ScopeType, Types: []string{"CodeSystem"}, Safe: true,
		Definition: "http://hl7.org/fhir/OperationDefinition/CodeSystem-subsumes",
		Do: func(ctx context.Context, req *Request) (*Response, error) {
			p, _, err := ReadParams(req)
			if err != nil {
				return nil, err
			}
			system, _ := p.String("system")
			a, _ := p.String("codeA")
			b, _ := p.String("codeB")
			if system == "" || a == "" || b == "" {
				return nil, fhir.Errorf(400, fhir.IssueRequired, "$subsumes needs system, codeA and codeB")
			}
			outcome, err := reg.Subsumes(system, a, b)
			if err != nil {
				return nil, fhir.Errorf(400, fhir.IssueNotSupported, "%v", err)
			}
			out := parameters{}
			out.add("outcome", "valueCode", outcome)
			return &Response{Status: http.StatusOK, Body: out.bytes()}, nil
		}})
	s.Register(OperationDef{Name: "expand", Scope: ScopeType | ScopeInstance, Types: []string{"ValueSet"}, Safe: true,
		Definition: "http://hl7.org/fhir/OperationDefinition/ValueSet-expand",
		Do: func(ctx context.Context, req *Request) (*Response, error) {
			p, url, err := s.valueSetParams(ctx, req, reg)
			if err != nil {
				return nil, err
			}
			filter, _ := p.String("filter")
			offset, count := 0, 1000
			if v, ok := p.String("offset"); ok {
				if offset, err = strconv.Atoi(v); err != nil || offset < 0 {
					return nil, fhir.Errorf(400, fhir.IssueValue, "offset must be a non-negative integer")
				}
			}
			if v, ok := p.String("count"); ok {
				if count, err = strconv.Atoi(v); err != nil || count < 0 {
					return nil, fhir.Errorf(400, fhir.IssueValue, "count must be a non-negative integer")
				}
			}
			exp, err := reg.Expand(url, filter, offset, count)
			if err != nil {
				return nil, fhir.Errorf(422, fhir.IssueNotSupported, "Cannot expand %s: %v", clip(url), err)
			}
			return &Response{Status: http.StatusOK, Body: expansionJSON(url, filter, exp, s.opts.Now)}, nil
		}})
	s.Register(OperationDef{Name: "validate-code", Scope: ScopeType | ScopeInstance, Types: []string{"ValueSet"}, Safe: true,
		Definition: "http://hl7.org/fhir/OperationDefinition/ValueSet-validate-code",
		Do: func(ctx context.Context, req *Request) (*Response, error) {
			p, url, err := s.valueSetParams(ctx, req, reg)
			if err != nil {
				return nil, err
			}
			system, code := codingParam(p, "coding")
			if v, ok := p.String("system"); ok {
				system = v
			}
			if v, ok := p.String("code"); ok {
				code = v
			}
			display, _ := p.String("display")
			if code == "" {
				return nil, fhir.Errorf(400, fhir.IssueRequired, "$validate-code needs code (with system) or coding")
			}
			res, err := reg.ValidateCode(url, system, code, display)
			if err != nil {
				return nil, fhir.Errorf(422, fhir.IssueNotSupported, "Cannot check codes against %s: %v", clip(url), err)
			}
			out := parameters{}
			out.add("result", "valueBoolean", res.Valid)
			if res.Message != "" {
				out.add("message", "valueString", res.Message)
			}
			if res.Display != "" {
				out.add("display", "valueString", res.Display)
			}
			return &Response{Status: http.StatusOK, Body: out.bytes()}, nil
		}})
}

// valueSetParams reads the parameters of a ValueSet operation and finds
// the value set: the stored instance (registered on the fly), a ValueSet
// in the body's valueSet parameter, or the url parameter.
func (s *Service) valueSetParams(ctx context.Context, req *Request, reg *terminology.Registry) (Params, string, error) {
	p, _, err := ReadParams(req)
	if err != nil {
		return nil, "", err
	}
	var vs []byte
	if req.ID != "" {
		v, err := s.store.Read(ctx, req.Type, req.ID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, "", notFound(req.Type, req.ID)
		} else if err != nil {
			return nil, "", err
		}
		if v.Deleted {
			return nil, "", gone(v)
		}
		vs = v.Body
	} else if raw := p["valueSet"]; len(raw) > 0 {
		vs = raw[0]
	}
	url, _ := p.String("url")
	if vs != nil {
		var head struct{ URL string }
		_ = json.Unmarshal(vs, &head)
		if head.URL == "" {
			return nil, "", fhir.Errorf(400, fhir.IssueRequired, "The ValueSet has no url, so it cannot be expanded")
		}
		if err := reg.Add(vs); err != nil {
			return nil, "", fhir.Errorf(422, fhir.IssueInvalid, "The ValueSet cannot be used: %v", err)
		}
		url = head.URL
	}
	if url == "" {
		return nil, "", fhir.Errorf(400, fhir.IssueRequired, "Name the value set: url, a valueSet parameter, or ValueSet/{id}/$%s", strings.TrimPrefix(req.Operation, "$"))
	}
	return p, url, nil
}

// codingParam reads system and code from a Coding parameter.
func codingParam(p Params, name string) (string, string) {
	vs := p[name]
	if len(vs) == 0 {
		return "", ""
	}
	var c struct{ System, Code string }
	_ = json.Unmarshal(vs[0], &c)
	return c.System, c.Code
}

// nameOf names a code system for $lookup: the last segment of its URL
// ("administrative-gender"), which is how the core package names them.
func nameOf(system string) string {
	if i := strings.LastIndexAny(strings.TrimRight(system, "/"), "/:"); i >= 0 && i < len(system)-1 {
		return system[i+1:]
	}
	return system
}

// expansionJSON renders an expansion as a ValueSet resource.
func expansionJSON(url, filter string, exp terminology.Expansion, now func() time.Time) []byte {
	type contains struct {
		System   string `json:"system,omitempty"`
		Version  string `json:"version,omitempty"`
		Abstract bool   `json:"abstract,omitempty"`
		Inactive bool   `json:"inactive,omitempty"`
		Code     string `json:"code,omitempty"`
		Display  string `json:"display,omitempty"`
	}
	type param struct {
		Name         string `json:"name"`
		ValueString  string `json:"valueString,omitempty"`
		ValueInteger *int   `json:"valueInteger,omitempty"`
	}
	id, ts := "urn:uuid:"+NewID(), fhir.FormatInstant(now())
	var cs []contains
	for _, c := range exp.Contains {
		cs = append(cs, contains{c.System, c.Version, c.Abstract, c.Inactive, c.Code, c.Display})
	}
	var params []param
	if filter != "" {
		params = append(params, param{Name: "filter", ValueString: filter})
	}
	off, cnt := exp.Offset, len(cs)
	params = append(params, param{Name: "offset", ValueInteger: &off}, param{Name: "count", ValueInteger: &cnt})
	if p := exp.Precomputed; p != nil {
		// The codes are the expansion published with R4, not one made
		// now: say where from, and keep its time. A page of it is still
		// that expansion; a filtered one is not, so it gets its own id.
		params = append(params, param{Name: "expansion-source", ValueString: p.Source})
		ts = p.Timestamp
		if filter == "" {
			id = p.Identifier
		}
	}
	out := map[string]any{
		"resourceType": "ValueSet",
		"url":          url,
		"status":       "active",
		"expansion": map[string]any{
			"identifier": id,
			"timestamp":  ts,
			"total":      exp.Total,
			"offset":     exp.Offset,
			"parameter":  params,
			"contains":   cs,
		},
	}
	if exp.Version != "" {
		out["version"] = exp.Version
	}
	if len(cs) == 0 {
		delete(out["expansion"].(map[string]any), "contains")
	}
	b, _ := json.Marshal(out)
	return b
}

func propertyValue(pr terminology.Property) part {
	switch pr.Type {
	case "boolean":
		return part{"value", "valueBoolean", pr.Value == "true"}
	case "integer":
		n, _ := strconv.Atoi(pr.Value)
		return part{"value", "valueInteger", n}
	case "code":
		return part{"value", "valueCode", pr.Value}
	case "dateTime":
		return part{"value", "valueDateTime", pr.Value}
	}
	return part{"value", "valueString", pr.Value}
}

type part struct {
	name, key string
	value     any
}

// parameters builds a Parameters resource.
type parameters struct {
	list []map[string]any
}

func (p *parameters) add(name, key string, value any) {
	p.list = append(p.list, map[string]any{"name": name, key: value})
}

func (p *parameters) addPart(name string, parts ...part) {
	var ps []map[string]any
	for _, pt := range parts {
		ps = append(ps, map[string]any{"name": pt.name, pt.key: pt.value})
	}
	p.list = append(p.list, map[string]any{"name": name, "part": ps})
}

func (p *parameters) bytes() []byte {
	b, _ := json.Marshal(map[string]any{"resourceType": "Parameters", "parameter": p.list})
	return b
}
