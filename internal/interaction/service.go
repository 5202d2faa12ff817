// Package interaction implements the FHIR RESTful interactions (read,
// vread, create, update, delete, history, capabilities, ...) on top of a
// store. Every interaction passes through Service.Do, the single place
// where access decisions and audit will hook in.
package interaction

import (
	"context"
	"net/url"
	"sync"
	"time"

	"github.com/nhs-junction/junction/internal/access"
	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/search"
	"github.com/nhs-junction/junction/internal/searchparam"
	"github.com/nhs-junction/junction/internal/store"
)

// Kind names an interaction as the CapabilityStatement does.
type Kind string

// The interactions.
const (
	Read              Kind = "read"
	VRead             Kind = "vread"
	Create            Kind = "create"
	Update            Kind = "update"
	Patch             Kind = "patch"
	Delete            Kind = "delete"
	HistoryInstance   Kind = "history-instance"
	HistoryType       Kind = "history-type"
	HistorySystem     Kind = "history-system"
	SearchType        Kind = "search-type"
	SearchSystem      Kind = "search-system"
	SearchCompartment Kind = "search-compartment"
	Capabilities      Kind = "capabilities"
	Batch             Kind = "batch"
	Transaction       Kind = "transaction"
	Operation         Kind = "operation"
)

// Return is the client's Prefer: return= choice.
type Return int

// Prefer return values.
const (
	ReturnRepresentation Return = iota
	ReturnMinimal
	ReturnOutcome
)

// Request is one interaction, already routed. It is transport-neutral so
// that the entries of batch and transaction bundles are Requests too.
type Request struct {
	Kind        Kind
	Type        string
	ID          string
	VersionID   string
	Operation   string // "$validate" etc. for Kind Operation
	Compartment string // target type of a compartment search
	Query       url.Values
	Body        []byte
	// ContentType is the media type of Body (without parameters); PATCH
	// uses it to tell JSON Patch from FHIRPath Patch.
	ContentType string

	IfMatch         string    // raw If-Match header
	IfNoneMatch     string    // raw If-None-Match header
	IfModifiedSince time.Time // zero when absent
	IfNoneExist     string    // raw If-None-Exist header (conditional create)

	Return  Return
	Lenient bool // Prefer: handling=lenient

	// Method is the HTTP method (or bundle entry request.method).
	Method string

	// Set while resolving a conditional interaction.
	assignID bool // the body has no id: give it req.ID
	// prevalidated: the body passed validation and the business rules
	// before the conditional lock was taken (see prevalidate).
	prevalidated bool
	// dec is the access decision for this request (nil before decide,
	// and for the CapabilityStatement).
	dec     *access.Decision
	noMatch bool // a conditional delete matched nothing
	// cond is the search a conditional write was resolved by, checked
	// again inside its transaction (see recheck).
	cond *condCheck

	// BaseURL is the service base, e.g. http://127.0.0.1:8080/fhir, used
	// for fullUrl and paging links.
	BaseURL string

	// Caller is who asks. Every request carries one; Do refuses a request
	// without it. Bundle entries and the searches an operation makes run
	// as the same Caller.
	Caller *access.Caller

	// aud collects what the request's AuditEvents record (audit.go).
	aud *auditRec
}

// Response is the result of one interaction.
type Response struct {
	Status int
	// Body is the resource (or Bundle, or OperationOutcome) JSON; nil for
	// no body. The HTTP layer may re-indent it.
	Body []byte
	// Version, when set, is the resource version the response concerns:
	// the source of ETag, Last-Modified and Location.
	Version  *store.Version
	Location string
	// Outcome is returned instead of Body for Prefer: return=OperationOutcome.
	Outcome []fhir.Issue
	// BreakGlass, when set, marks a response that carries data opened by
	// an emergency access (the Break-Glass header): which patient, until
	// when.
	BreakGlass string
}

// Options configure a Service.
type Options struct {
	// Validate checks resource JSON before it is stored and returns a
	// *fhir.Error (400 for broken structure, 422 for other violations)
	// to refuse the write. Nil accepts any JSON object.
	Validate func(raw []byte) error
	// Rules checks business rules (such as valid NHS numbers) on every
	// resource written; issues of severity error refuse the write with 422.
	Rules func(raw []byte) []fhir.Issue
	// IsResourceType reports the resource types this server stores.
	IsResourceType func(string) bool
	// ResourceTypes lists them, sorted, for the CapabilityStatement.
	ResourceTypes []string
	// Software identifies the server in the CapabilityStatement.
	SoftwareName, SoftwareVersion string
	// DefaultCount and MaxCount bound page sizes (history, search).
	DefaultCount, MaxCount int
	// Committed, when set, is called with every version a write stored,
	// after the commit (for caches such as the terminology registry).
	Committed func(v store.Version)
	// MaxConditionalDelete bounds how many resources one conditional
	// delete may remove (default 100); more matches are 412.
	MaxConditionalDelete int
	// Present, when set, turns a stored resource into what this caller
	// may see (for example a restricted patient without the demographics
	// PDS withholds, flagged REDACTED). Every resource a read, history,
	// search or operation returns passes through it.
	Present func(raw []byte) ([]byte, error)
	// RestrictSearch, when set, returns the restriction a search applies
	// to every resource version it reads (search.Restriction; for
	// example: never find restricted patients by address), or nil.
	RestrictSearch func(q *searchparam.Query) search.Restriction
	// Terminology, when set, answers :in, :not-in, :below and :above on
	// token search parameters.
	Terminology Terminology
	// AutoLink links a Patient written with a valid NHS number to the
	// other Patients that carry it (Patient.link seealso).
	AutoLink bool
	// Search plugs in search; without it search interactions are 405.
	Search SearchOptions
	// Now is the wall clock; nil means time.Now.
	Now func() time.Time
	// Access decides every interaction; nil means the built-in baseline
	// policy (access.DefaultPolicy).
	Access *access.Decider
	// Audit, when set, records every interaction as AuditEvents (audit.go).
	Audit *AuditOptions
}

// Service carries out interactions against a store.
type Service struct {
	store        store.Store
	opts         Options
	capabilities []byte
	ops          map[string]OperationDef
	condMu       sync.Mutex     // held across a conditional write's search and commit
	security     []byte         // CapabilityStatement.rest.security, see SetSecurity
	bg           *breakGlass    // nil until RegisterBreakGlass
	tables       access.Querier // the access tables; nil until RegisterBreakGlass
	bgFor        time.Duration  // how long a break-glass grant lasts
	implicit     sync.Map       // "Type.param" -> implied code systems (implicitSystems)
	deriver      Deriver        // see SetDeriver
	audit        *AuditOptions
}

// New returns a Service over st.
func New(st store.Store, opts Options) *Service {
	if opts.DefaultCount <= 0 {
		opts.DefaultCount = 20
	}
	if opts.MaxCount <= 0 {
		opts.MaxCount = 1000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.IsResourceType == nil {
		opts.IsResourceType = func(string) bool { return true }
	}
	if opts.Access == nil {
		opts.Access = access.NewDecider(nil)
	}
	s := &Service{store: st, opts: opts, audit: opts.Audit}
	s.capabilities = s.buildCapabilities()
	return s
}

// Do carries out one interaction. Failures the client should see are
// *fhir.Error; any other error is internal. With Options.Audit set, the
// interaction is recorded before Do returns (audit.go).
func (s *Service) Do(ctx context.Context, req *Request) (*Response, error) {
	if s.audit != nil {
		return s.audited(ctx, req)
	}
	return s.do(ctx, req)
}

func (s *Service) do(ctx context.Context, req *Request) (*Response, error) {
	if req.Caller == nil && req.Kind != Capabilities {
		// Fail closed: a request that reached here without a caller is a
		// bug in the layer above, never a licence to answer.
		return nil, fhir.Errorf(401, fhir.IssueLogin, "The request has no authenticated caller")
	}
	if req.Type != "" && !s.opts.IsResourceType(req.Type) {
		return nil, fhir.Errorf(404, fhir.IssueNotSupported, "Unknown resource type %q", req.Type)
	}
	if req.ID != "" && !fhir.ValidID(req.ID) {
		return nil, fhir.Errorf(400, fhir.IssueValue, "Invalid resource id %q: it is not a valid id (1-64 characters from A-Z a-z 0-9 - .)", clip(req.ID))
	}
	if err := refuseAuditWrite(req); err != nil {
		return nil, err
	}
	if err := s.withBreakGlass(ctx, req); err != nil {
		return nil, err
	}
	if err := s.decide(req); err != nil {
		return nil, err
	}
	resp, err := s.dispatch(ctx, req)
	if err == nil && resp != nil && req.dec != nil && req.dec.BreakGlass && resp.BreakGlass == "" && req.Caller.BreakGlass != nil {
		if err := s.markBreakGlass(ctx, req, resp); err != nil {
			return nil, err
		}
	}
	return resp, err
}

// dispatch carries out a decided interaction.
func (s *Service) dispatch(ctx context.Context, req *Request) (*Response, error) {
	switch req.Kind {
	case Read:
		return s.read(ctx, req)
	case VRead:
		return s.vread(ctx, req)
	case Create, Update, Delete, Patch:
		return s.writeOne(ctx, req)
	case HistoryInstance, HistoryType, HistorySystem:
		return s.history(ctx, req)
	case Transaction, Batch:
		return s.bundle(ctx, req)
	case SearchType, SearchSystem, SearchCompartment:
		return s.search(ctx, req)
	case Operation:
		return s.operation(ctx, req)
	case Capabilities:
		return &Response{Status: 200, Body: s.capabilities}, nil
	}
	return nil, fhir.Errorf(405, fhir.IssueNotSupported, "The %s interaction is not supported", req.Kind)
}

// clip shortens a client-supplied string for an error message.
func clip(s string) string {
	const max = 80
	if len(s) > max {
		s = s[:max] + "..."
	}
	return s
}

// present applies Options.Present to a stored body, when req's access
// decision says restricted demographics are withheld from its caller.
func (s *Service) present(req *Request, body []byte) ([]byte, error) {
	if s.opts.Present == nil || body == nil || !redacts(req) {
		return body, nil
	}
	return s.opts.Present(body)
}
