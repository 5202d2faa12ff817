package interaction

import (
	"context"
	"errors"
	"net/http"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/store"
)

// Validator checks a resource, optionally against a profile URL, and
// returns every issue found (errors, warnings and information).
type Validator func(raw []byte, profile string) []fhir.Issue

// RegisterValidate adds $validate at type and instance level (R4
// resource-operation-validate): the resource comes from the body (alone
// or as the "resource" parameter) or, at instance level, from the store.
// The answer is always an OperationOutcome with status 200; the outcome
// says whether the resource is valid.
func (s *Service) RegisterValidate(v Validator) {
	s.Register(OperationDef{
		Name: "validate", Scope: ScopeType | ScopeInstance, Safe: true,
		Definition: "http://hl7.org/fhir/OperationDefinition/Resource-validate",
		Do: func(ctx context.Context, req *Request) (*Response, error) {
			params, isParams, err := ReadParams(req)
			if err != nil {
				return nil, err
			}
			resource := req.Body
			if isParams {
				resource = nil
				if rs := params["resource"]; len(rs) > 0 {
					resource = rs[0]
				}
			}
			if mode, ok := params.String("mode"); ok && mode != "create" && mode != "update" && mode != "delete" && mode != "profile" {
				return nil, fhir.Errorf(400, fhir.IssueValue, "mode must be create, update, delete or profile")
			}
			profile, _ := params.String("profile")
			if len(resource) == 0 {
				if req.ID == "" {
					return nil, fhir.Errorf(400, fhir.IssueRequired, "$validate needs a resource in the body")
				}
				cur, err := s.store.Read(ctx, req.Type, req.ID)
				if errors.Is(err, store.ErrNotFound) {
					return nil, notFound(req.Type, req.ID)
				} else if err != nil {
					return nil, err
				}
				if cur.Deleted {
					return nil, gone(cur)
				}
				resource = cur.Body
			}
			if _, err := parseResource(resource, req.Type); err != nil {
				return nil, err
			}
			issues := v(resource, profile)
			if len(issues) == 0 {
				issues = []fhir.Issue{{Severity: fhir.SeverityInformation, Code: fhir.IssueInformational, Diagnostics: "No issues found: the resource is valid"}}
			}
			return &Response{Status: http.StatusOK, Outcome: issues}, nil
		},
	})
}
