package interaction

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strings"

	"github.com/nhs-junction/junction/internal/fhir"
)

// Scope says where an operation may be invoked (OperationDefinition
// system / type / instance).
type Scope int

// Operation scopes.
const (
	ScopeSystem Scope = 1 << iota
	ScopeType
	ScopeInstance
)

// OperationFunc carries out one operation. req.Type and req.ID are set
// according to the level it was invoked at.
type OperationFunc func(ctx context.Context, req *Request) (*Response, error)

// OperationDef registers an operation with the Service.
type OperationDef struct {
	Name  string   // without the $
	Scope Scope    // where it may be invoked
	Types []string // resource types it applies to; empty means all
	// Safe operations may be invoked with GET (no side effects).
	Safe bool
	// Definition is the canonical URL of its OperationDefinition.
	Definition string
	Do         OperationFunc
}

// Register adds an operation. It is not safe to call once the Service
// serves requests.
func (s *Service) Register(def OperationDef) {
	if s.ops == nil {
		s.ops = map[string]OperationDef{}
	}
	s.ops[def.Name] = def
	s.capabilities = s.buildCapabilities()
}

func (s *Service) operation(ctx context.Context, req *Request) (*Response, error) {
	name := strings.TrimPrefix(req.Operation, "$")
	def, ok := s.ops[name]
	if !ok {
		return nil, fhir.Errorf(404, fhir.IssueNotSupported, "Unknown operation $%s", clip(name))
	}
	scope := ScopeSystem
	switch {
	case req.ID != "":
		scope = ScopeInstance
	case req.Type != "":
		scope = ScopeType
	}
	if def.Scope&scope == 0 {
		return nil, fhir.Errorf(400, fhir.IssueNotSupported, "$%s cannot be invoked at this level", name)
	}
	if len(def.Types) > 0 && req.Type != "" {
		found := false
		for _, t := range def.Types {
			found = found || t == req.Type
		}
		if !found {
			return nil, fhir.Errorf(400, fhir.IssueNotSupported, "$%s does not apply to %s", name, req.Type)
		}
	}
	if req.Method == http.MethodGet && !def.Safe {
		return nil, fhir.Errorf(405, fhir.IssueNotSupported, "$%s changes data and must be invoked with POST", name)
	}
	return def.Do(ctx, req)
}

// operationNames lists the registered operations, sorted, for the
// CapabilityStatement.
func (s *Service) operationNames() []OperationDef {
	var out []OperationDef
	for _, d := range s.ops {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Params is an operation's input: a Parameters resource body and/or the
// query string (for GET), read as name -> raw JSON values. A parameter
// with a resource holds the resource JSON.
type Params map[string][]json.RawMessage

// ReadParams reads an operation's input parameters (R4
// operations.html#request): query parameters as strings, plus those of a
// Parameters body. isParams reports whether the body was a Parameters
// resource; when it was not, the caller treats the body as the resource.
func ReadParams(req *Request) (p Params, isParams bool, err error) {
	p = Params{}
	for k, vs := range req.Query {
		if formatParams[k] {
			continue
		}
		for _, v := range vs {
			b, _ := json.Marshal(v)
			p[k] = append(p[k], b)
		}
	}
	if len(req.Body) == 0 {
		return p, false, nil
	}
	var body struct {
		ResourceType string `json:"resourceType"`
		Parameter    []map[string]json.RawMessage
	}
	if err := json.Unmarshal(req.Body, &body); err != nil {
		return nil, false, fhir.Errorf(400, fhir.IssueStructure, "The operation body is not valid JSON")
	}
	if body.ResourceType != "Parameters" {
		return p, false, nil
	}
	for _, param := range body.Parameter {
		var name string
		_ = json.Unmarshal(param["name"], &name)
		if name == "" {
			return nil, false, fhir.Errorf(400, fhir.IssueRequired, "A Parameters.parameter has no name").At("Parameters.parameter.name")
		}
		for k, v := range param {
			if k == "resource" || strings.HasPrefix(k, "value") {
				p[name] = append(p[name], v)
			}
		}
	}
	return p, true, nil
}

// String returns the first value of a parameter as a string.
func (p Params) String(name string) (string, bool) {
	vs := p[name]
	if len(vs) == 0 {
		return "", false
	}
	var s string
	if json.Unmarshal(vs[0], &s) != nil {
		return string(vs[0]), true
	}
	return s, true
}
