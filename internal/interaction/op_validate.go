package interaction

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/store"
)

// Validator checks a resource, optionally against a profile URL, and
// returns every issue found (errors, warnings and information).
type Validator func(raw []byte, profile string) []fhir.Issue

// The modes of $validate (R4 value set resource-validation-mode).
const (
	validateCreate  = "create"
	validateUpdate  = "update"
	validateDelete  = "delete"
	validateProfile = "profile"
)

// RegisterValidate adds $validate at type and instance level (R4
// OperationDefinition Resource-validate). The resource comes from the
// body (alone or as the "resource" parameter of a Parameters body) or,
// at instance level, from the store. The answer is an OperationOutcome
// with status 200 whether or not the resource is valid; a 4xx means the
// validation could not be performed.
//
// Besides v, the resource is checked with every rule a write applies
// (Options.Validate, which may be stricter than v, and Options.Rules),
// so a resource $validate finds no error in is one a write accepts. The
// mode parameter adds the checks of that interaction:
//
//   - create (type level): as a create; the id may be absent, and one
//     present would be replaced by the server's.
//   - update (instance level): the resource must carry the id of the URL.
//   - delete (instance level): the content is ignored; the resource must
//     exist (404) and not be deleted already (410).
//   - profile (instance level): the stored resource, never a body,
//     against the profile parameter, which is required.
func (s *Service) RegisterValidate(v Validator) {
	s.Register(OperationDef{
		Name: "validate", Scope: ScopeType | ScopeInstance, Safe: true,
		Definition: "http://hl7.org/fhir/OperationDefinition/Resource-validate",
		Do: func(ctx context.Context, req *Request) (*Response, error) {
			return s.validate(ctx, req, v)
		},
	})
}

func (s *Service) validate(ctx context.Context, req *Request, v Validator) (*Response, error) {
	resource, params, err := validateInput(req)
	if err != nil {
		return nil, err
	}
	mode, _ := params.String("mode")
	profile, _ := params.String("profile")
	if err := checkValidateMode(req, mode, profile, resource != nil); err != nil {
		return nil, err
	}
	if mode == validateDelete {
		return s.validateDelete(ctx, req)
	}
	if resource == nil {
		if req.ID == "" {
			return nil, fhir.Errorf(400, fhir.IssueRequired, "$validate needs %s: the body, or the resource parameter of a Parameters body", fhir.A(req.Type))
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
	obj, err := parseResource(resource, req.Type)
	if err != nil {
		return nil, err
	}
	issues := v(resource, profile)
	issues = s.writeRules(issues, resource)
	issues = append(issues, modeIssues(req, mode, obj)...)
	if len(issues) == 0 {
		issues = []fhir.Issue{{Severity: fhir.SeverityInformation, Code: fhir.IssueInformational, Diagnostics: "No issues found: the resource is valid"}}
	}
	return &Response{Status: http.StatusOK, Outcome: issues}, nil
}

// validateInput finds the resource to validate and the operation's
// parameters (R4 operations.html#request). A Parameters body is the
// operation's input, its "resource" parameter the resource, except where
// it can only be the resource itself: at type Parameters, a Parameters
// body is the input only when it has a resource parameter holding a
// Parameters resource and no parameter $validate does not define; any
// other Parameters body there is the resource to validate. resource is
// nil when the request names none.
func validateInput(req *Request) (resource []byte, params Params, err error) {
	if req.Type == "Parameters" && len(req.Body) > 0 && !isValidateInput(req.Body) {
		q := *req
		q.Body = nil
		params, _, err = ReadParams(&q)
		return req.Body, params, err
	}
	params, isParams, err := ReadParams(req)
	if err != nil {
		return nil, nil, err
	}
	if !isParams {
		if len(req.Body) == 0 {
			return nil, params, nil
		}
		return req.Body, params, nil
	}
	rs := params["resource"]
	if len(rs) > 1 {
		return nil, nil, fhir.Errorf(400, fhir.IssueInvalid, "$validate takes at most one resource parameter (R4 Resource-validate), not %d", len(rs)).At("Parameters.parameter")
	}
	if len(rs) == 1 {
		return rs[0], params, nil
	}
	return nil, params, nil
}

// isValidateInput reports whether body, a resource posted to
// Parameters/$validate, is $validate's input rather than the resource to
// validate; see validateInput.
func isValidateInput(body []byte) bool {
	var p struct {
		ResourceType string `json:"resourceType"`
		Parameter    []struct {
			Name     string `json:"name"`
			Resource *struct {
				ResourceType string `json:"resourceType"`
			} `json:"resource"`
		} `json:"parameter"`
	}
	if json.Unmarshal(body, &p) != nil || p.ResourceType != "Parameters" {
		return false
	}
	hasResource := false
	for _, param := range p.Parameter {
		switch param.Name {
		case "resource":
			if param.Resource == nil || param.Resource.ResourceType != "Parameters" {
				return false
			}
			hasResource = true
		case "mode", "profile":
		default:
			return false
		}
	}
	return hasResource
}

// checkValidateMode refuses a mode R4 does not define, or one invoked
// where it cannot apply: "Modes update and delete can only be used when
// the operation is invoked at the resource instance level" (R4
// Resource-validate); create validates a resource for a create, which
// names no instance; profile checks "an existing resource (must be
// nominated by id, not provided as a parameter)" against the nominated
// profile (R4 resource-validation-mode).
func checkValidateMode(req *Request, mode, profile string, hasResource bool) error {
	switch mode {
	case "":
	case validateCreate:
		if req.ID != "" {
			return fhir.Errorf(400, fhir.IssueNotSupported, "mode create validates a resource for a create, which names no id: invoke $validate on %s, not on %s/%s", req.Type, req.Type, req.ID)
		}
	case validateUpdate, validateDelete:
		if req.ID == "" {
			return fhir.Errorf(400, fhir.IssueNotSupported, "mode %s applies to one resource: invoke $validate on %s/[id]", mode, req.Type)
		}
		if mode == validateUpdate && !hasResource {
			return fhir.Errorf(400, fhir.IssueRequired, "mode update needs the new content of %s/%s: the body, or the resource parameter of a Parameters body", req.Type, req.ID)
		}
	case validateProfile:
		if req.ID == "" {
			return fhir.Errorf(400, fhir.IssueNotSupported, "mode profile checks a stored resource: invoke $validate on %s/[id]", req.Type)
		}
		if hasResource {
			return fhir.Errorf(400, fhir.IssueNotSupported, "mode profile checks the stored %s/%s, so the request must not carry a resource", req.Type, req.ID)
		}
		if profile == "" {
			return fhir.Errorf(400, fhir.IssueRequired, "mode profile needs the profile parameter")
		}
	default:
		return fhir.Errorf(400, fhir.IssueValue, "mode must be create, update, delete or profile, not %q", clip(mode))
	}
	return nil
}

// writeRules adds to issues those a write of raw would refuse it for
// that the Validator did not report: Options.Validate (which may be
// stricter, for example about profiles the server does not hold) and the
// business rules of Options.Rules.
func (s *Service) writeRules(issues []fhir.Issue, raw []byte) []fhir.Issue {
	if s.opts.Validate != nil {
		var fe *fhir.Error
		if err := s.opts.Validate(raw); errors.As(err, &fe) {
			for _, is := range fe.Issues {
				if !slices.ContainsFunc(issues, func(have fhir.Issue) bool { return sameIssue(have, is) }) {
					issues = append(issues, is)
				}
			}
		} else if err != nil {
			issues = append(issues, fhir.Issue{Severity: fhir.SeverityError, Code: fhir.IssueProcessing, Diagnostics: "the resource could not be validated as a write would validate it"})
		}
	}
	if s.opts.Rules != nil {
		issues = append(issues, s.opts.Rules(raw)...)
	}
	return issues
}

func sameIssue(a, b fhir.Issue) bool {
	return a.Severity == b.Severity && a.Code == b.Code && a.Diagnostics == b.Diagnostics && slices.Equal(a.Expression, b.Expression)
}

// modeIssues checks obj as the interaction named by mode would, beyond
// its content: an update needs the id of the URL (R4 http.html#update);
// a create ignores any id (R4 http.html#create).
func modeIssues(req *Request, mode string, obj *fhir.Object) []fhir.Issue {
	id, hasID := obj.GetString("id")
	switch mode {
	case validateUpdate:
		if !hasID {
			return []fhir.Issue{{Severity: fhir.SeverityError, Code: fhir.IssueRequired, Expression: []string{req.Type + ".id"},
				Diagnostics: fmt.Sprintf("The resource must carry id %q to match the URL, as an update requires", req.ID)}}
		}
		if id != req.ID {
			return []fhir.Issue{{Severity: fhir.SeverityError, Code: fhir.IssueInvalid, Expression: []string{req.Type + ".id"},
				Diagnostics: fmt.Sprintf("The id in the resource (%q) differs from the id in the URL (%q), which an update refuses", clip(id), req.ID)}}
		}
	case validateCreate:
		if hasID {
			return []fhir.Issue{{Severity: fhir.SeverityInformation, Code: fhir.IssueInformational, Expression: []string{req.Type + ".id"},
				Diagnostics: fmt.Sprintf("A create ignores the id %q: the server assigns the id of a created resource", clip(id))}}
		}
	}
	return nil
}

// validateDelete answers mode delete: the content is ignored, and the
// nominated resource may be deleted when it exists. This server keeps no
// referential integrity rules that could forbid a delete.
func (s *Service) validateDelete(ctx context.Context, req *Request) (*Response, error) {
	cur, err := s.store.Read(ctx, req.Type, req.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound(req.Type, req.ID)
	} else if err != nil {
		return nil, err
	}
	if cur.Deleted {
		return nil, gone(cur)
	}
	return &Response{Status: http.StatusOK, Outcome: []fhir.Issue{{Severity: fhir.SeverityInformation, Code: fhir.IssueInformational,
		Diagnostics: fmt.Sprintf("%s/%s exists and may be deleted", req.Type, req.ID)}}}, nil
}
