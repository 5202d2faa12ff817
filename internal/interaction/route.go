package interaction

import (
	"net/http"
	"strings"

	"github.com/nhs-junction/junction/internal/fhir"
)

// Route maps a method and the path below the FHIR base to an interaction
// (R4 http.html). It fills Kind, Type, ID, VersionID, Operation and
// Compartment, and returns a 404/405 *fhir.Error for URLs that are not
// FHIR interactions.
func Route(method string, segs []string) (*Request, error) {
	r := &Request{Method: method}
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
			r.Kind = SearchSystem
		case method == http.MethodPost:
			r.Kind = Transaction // batch or transaction, decided by the body
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
			r.Kind = Capabilities
		case s == "_history":
			if !get {
				return nil, bad("GET", "HEAD")
			}
			r.Kind = HistorySystem
		case s == "_search":
			if method != http.MethodPost {
				return nil, bad("POST")
			}
			r.Kind = SearchSystem
		case isOp(s):
			r.Kind, r.Operation = Operation, s
		default:
			r.Type = s
			switch method {
			case http.MethodGet, http.MethodHead:
				r.Kind = SearchType
			case http.MethodPost:
				r.Kind = Create
			case http.MethodPut:
				r.Kind = Update // conditional update: criteria in the query
			case http.MethodDelete:
				r.Kind = Delete // conditional delete
			case http.MethodPatch:
				r.Kind = Patch
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
			r.Kind = HistoryType
		case s == "_search":
			if method != http.MethodPost {
				return nil, bad("POST")
			}
			r.Kind = SearchType
		case isOp(s):
			r.Kind, r.Operation = Operation, s
		default:
			r.ID = s
			switch method {
			case http.MethodGet, http.MethodHead:
				r.Kind = Read
			case http.MethodPut:
				r.Kind = Update
			case http.MethodDelete:
				r.Kind = Delete
			case http.MethodPatch:
				r.Kind = Patch
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
			r.Kind = HistoryInstance
		case isOp(s):
			r.Kind, r.Operation = Operation, s
		default:
			if !get {
				return nil, bad("GET", "HEAD")
			}
			r.Kind, r.Compartment = SearchCompartment, s
		}
	case 4:
		r.Type, r.ID = segs[0], segs[1]
		switch {
		case segs[2] == "_history":
			if !get {
				return nil, bad("GET", "HEAD")
			}
			r.Kind, r.VersionID = VRead, segs[3]
		case segs[3] == "_search" && method == http.MethodPost:
			r.Kind, r.Compartment = SearchCompartment, segs[2]
		default:
			return nil, fhir.Errorf(404, fhir.IssueNotFound, "No FHIR interaction at this URL")
		}
	default:
		return nil, fhir.Errorf(404, fhir.IssueNotFound, "No FHIR interaction at this URL")
	}
	return r, nil
}
