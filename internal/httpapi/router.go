// Package httpapi is the HTTP face of Junction: it routes FHIR REST URLs
// to interaction requests, negotiates formats, and renders every error as
// an OperationOutcome in exactly one place (writeError).
package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/interaction"
)

// Doer carries out interactions; *interaction.Service is one.
type Doer interface {
	Do(ctx context.Context, req *interaction.Request) (*interaction.Response, error)
}

// route maps a method and the path below the FHIR base to an interaction
// (R4 http.html). It fills Kind, Type, ID, VersionID, Operation and
// Compartment, and returns a 404/405 *fhir.Error for URLs that are not
// FHIR interactions.
func route(method string, segs []string) (*interaction.Request, error) {
	r := &interaction.Request{}
	get := method == http.MethodGet || method == http.MethodHead
	bad := func(allow ...string) error {
		e := fhir.Errorf(405, fhir.IssueNotSupported, "%s is not allowed on this URL (allowed: %s)", method, strings.Join(allow, ", "))
		e.Header = http.Header{"Allow": {strings.Join(allow, ", ")}}
		return e
	}
	isOp := func(s string) bool { return strings.HasPrefix(s, "$") && len(s) > 1 }
	switch len(segs) {
	case 0:
		switch {
		case get:
			r.Kind = interaction.SearchSystem
		case method == http.MethodPost:
			r.Kind = interaction.Transaction // batch or transaction, decided by the body
		default:
			return nil, bad("GET", "HEAD", "POST")
		}
	case 1:
		s := segs[0]
		switch {
		case s == "metadata":
			if !get {
				return nil, bad("GET", "HEAD")
			}
			r.Kind = interaction.Capabilities
		case s == "_history":
			if !get {
				return nil, bad("GET", "HEAD")
			}
			r.Kind = interaction.HistorySystem
		case s == "_search":
			if method != http.MethodPost {
				return nil, bad("POST")
			}
			r.Kind = interaction.SearchSystem
		case isOp(s):
			r.Kind, r.Operation = interaction.Operation, s
		default:
			r.Type = s
			switch method {
			case http.MethodGet, http.MethodHead:
				r.Kind = interaction.SearchType
			case http.MethodPost:
				r.Kind = interaction.Create
			case http.MethodPut:
				r.Kind = interaction.Update // conditional update: criteria in the query
			case http.MethodDelete:
				r.Kind = interaction.Delete // conditional delete
			case http.MethodPatch:
				r.Kind = interaction.Patch
			default:
				return nil, bad("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH")
			}
		}
	case 2:
		r.Type = segs[0]
		s := segs[1]
		switch {
		case s == "_history":
			if !get {
				return nil, bad("GET", "HEAD")
			}
			r.Kind = interaction.HistoryType
		case s == "_search":
			if method != http.MethodPost {
				return nil, bad("POST")
			}
			r.Kind = interaction.SearchType
		case isOp(s):
			r.Kind, r.Operation = interaction.Operation, s
		default:
			r.ID = s
			switch method {
			case http.MethodGet, http.MethodHead:
				r.Kind = interaction.Read
			case http.MethodPut:
				r.Kind = interaction.Update
			case http.MethodDelete:
				r.Kind = interaction.Delete
			case http.MethodPatch:
				r.Kind = interaction.Patch
			default:
				return nil, bad("GET", "HEAD", "PUT", "DELETE", "PATCH")
			}
		}
	case 3:
		r.Type, r.ID = segs[0], segs[1]
		s := segs[2]
		switch {
		case s == "_history":
			if !get {
				return nil, bad("GET", "HEAD")
			}
			r.Kind = interaction.HistoryInstance
		case isOp(s):
			r.Kind, r.Operation = interaction.Operation, s
		default:
			if !get {
				return nil, bad("GET", "HEAD")
			}
			r.Kind, r.Compartment = interaction.SearchCompartment, s
		}
	case 4:
		r.Type, r.ID = segs[0], segs[1]
		switch {
		case segs[2] == "_history":
			if !get {
				return nil, bad("GET", "HEAD")
			}
			r.Kind, r.VersionID = interaction.VRead, segs[3]
		case segs[3] == "_search" && method == http.MethodPost:
			r.Kind, r.Compartment = interaction.SearchCompartment, segs[2]
		default:
			return nil, fhir.Errorf(404, fhir.IssueNotFound, "No FHIR interaction at this URL")
		}
	default:
		return nil, fhir.Errorf(404, fhir.IssueNotFound, "No FHIR interaction at this URL")
	}
	return r, nil
}
