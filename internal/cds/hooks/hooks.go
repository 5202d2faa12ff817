// Package hooks serves CDS Hooks 2.0 (cds-hooks.hl7.org/2.0): discovery
// at GET /cds-services, service calls at POST /cds-services/{id}, and the
// feedback endpoint POST /cds-services/{id}/feedback, for the
// patient-view, order-select, order-sign and encounter-start hooks.
// Prefetch templates the client did not fill are resolved locally, as
// the caller, through a Fetcher. The built-in services are in builtin.go
// (NEWS2, stroke recognition) and orders.go (duplicate orders); the
// aggregate services, one per hook, also call the external CDS services
// registered with the server (external.go) and merge their cards.
package hooks

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Definition describes a service in the discovery response (CDS Hooks
// 2.0 §Discovery).
type Definition struct {
	Hook        string            `json:"hook"`
	Title       string            `json:"title,omitempty"`
	Description string            `json:"description"`
	ID          string            `json:"id"`
	Prefetch    map[string]string `json:"prefetch,omitempty"`
	// UsageRequirements says what a client must know before using it.
	UsageRequirements string `json:"usageRequirements,omitempty"`
}

// Request is a service call's body (CDS Hooks 2.0 §HTTP Request).
type Request struct {
	Hook         string                     `json:"hook"`
	HookInstance string                     `json:"hookInstance"`
	FHIRServer   string                     `json:"fhirServer,omitempty"`
	Context      map[string]json.RawMessage `json:"context"`
	Prefetch     map[string]json.RawMessage `json:"prefetch,omitempty"`
}

// Card is one card of a response (CDS Hooks 2.0 §Card Attributes).
type Card struct {
	UUID      string `json:"uuid"`
	Summary   string `json:"summary"`
	Detail    string `json:"detail,omitempty"`
	Indicator string `json:"indicator"` // info, warning or critical
	Source    Source `json:"source"`
	// Suggestions are changes the user may accept; SelectionBehavior
	// ("at-most-one" or "any") is required when there are any.
	Suggestions       []Suggestion `json:"suggestions,omitempty"`
	SelectionBehavior string       `json:"selectionBehavior,omitempty"`
	OverrideReasons   []Coding     `json:"overrideReasons,omitempty"`
	Links             []Link       `json:"links,omitempty"`
}

// Suggestion is a card's proposed change (CDS Hooks 2.0 §Suggestion).
type Suggestion struct {
	Label         string   `json:"label"`
	UUID          string   `json:"uuid,omitempty"`
	IsRecommended bool     `json:"isRecommended,omitempty"`
	Actions       []Action `json:"actions,omitempty"`
}

// Action is one change of a suggestion (CDS Hooks 2.0 §Action): create
// or update carry Resource; delete names ResourceID ("Type/id").
type Action struct {
	Type        string          `json:"type"` // create, update or delete
	Description string          `json:"description"`
	Resource    json.RawMessage `json:"resource,omitempty"`
	ResourceID  string          `json:"resourceId,omitempty"`
}

// Coding is a CDS Hooks coding (system, code, display).
type Coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

// Source names who produced a card's content.
type Source struct {
	Label string `json:"label"`
	URL   string `json:"url,omitempty"`
	Topic *struct {
		System  string `json:"system,omitempty"`
		Code    string `json:"code"`
		Display string `json:"display,omitempty"`
	} `json:"topic,omitempty"`
}

// Link is a card's link; Type is absolute (or smart, for an app launch).
type Link struct {
	Label      string `json:"label"`
	URL        string `json:"url"`
	Type       string `json:"type"`
	AppContext string `json:"appContext,omitempty"`
}

// Data is what a service works from: the request's context, checked,
// and the prefetched (or locally fetched) resources by prefetch key.
type Data struct {
	Hook        string
	PatientID   string
	EncounterID string // empty when the hook's context has none
	UserID      string // "Practitioner/123" and the like
	// DraftOrders are the resources of context.draftOrders (order-select,
	// order-sign); Selections the order-select context.selections.
	DraftOrders []json.RawMessage
	Selections  []string
	Context     map[string]json.RawMessage
	Prefetch    map[string]json.RawMessage // nil value: none found
	// FHIRBase is the server's FHIR base, for links to its resources.
	FHIRBase string
	Now      time.Time
	tokens   map[string]string
}

// Service is one CDS service.
type Service struct {
	Definition
	// Cards computes the cards. An error is internal (500), unless it is
	// a *Error.
	Cards func(ctx context.Context, d Data) ([]Card, error)
}

// Fetcher resolves one prefetch query, a FHIR URL relative to the base
// ("Patient/123", "Observation?subject=123&code=..."), as the caller ctx
// carries, and returns the resource or searchset Bundle. A resource that
// does not exist, or that the caller may not see, is (nil, nil).
type Fetcher func(ctx context.Context, query string) (json.RawMessage, error)

// Options configure the Handler.
type Options struct {
	Services []Service
	Fetch    Fetcher
	// Authenticate establishes the caller of a service call or feedback
	// and returns a ctx carrying it for Fetch. An error is answered 401.
	// Discovery needs no credentials (it reveals no patient data).
	Authenticate func(r *http.Request) (context.Context, error)
	// FHIRBase returns the server's FHIR base for a request (for links
	// and for the fhirServer of calls to external services).
	FHIRBase func(r *http.Request) string
	// External are the external CDS services the aggregate services call.
	External *ExternalClient
	// Feedback, when set, receives every feedback entry accepted (after
	// it was checked), to keep it; the endpoint answers 500 when it fails.
	Feedback func(ctx context.Context, f FeedbackRecord) error
	Now      func() time.Time
	Logger   *slog.Logger
}

// Error is a failure with the HTTP status the client gets.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string { return e.Message }

func errorf(status int, format string, args ...any) *Error {
	return &Error{Status: status, Message: fmt.Sprintf(format, args...)}
}

// AggregateID is the id of the aggregate service of hook: it answers
// with the cards of every built-in service for the hook and of every
// external service registered for it.
func AggregateID(hook string) string { return "junction-all-" + hook }

// Handler serves /cds-services.
type Handler struct {
	opts Options
	byID map[string]*Service
	// byHook lists the built-in services of each hook, for the aggregates.
	byHook map[string][]*Service
	defs   []Definition

	mu       sync.Mutex
	feedback []FeedbackRecord // the latest maxFeedback, oldest first
	origin   map[string]string
}

// New returns the handler. Mount it at "/cds-services" and
// "/cds-services/". A service whose hook is not one the server serves
// panics: it is a programming error.
func New(opts Options) *Handler {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.FHIRBase == nil {
		opts.FHIRBase = func(*http.Request) string { return "" }
	}
	h := &Handler{opts: opts, byID: map[string]*Service{}, byHook: map[string][]*Service{}, origin: map[string]string{}}
	for i := range opts.Services {
		s := &opts.Services[i]
		if _, ok := hookContexts[s.Hook]; !ok {
			panic("hooks: service " + s.ID + " is on unknown hook " + s.Hook)
		}
		h.byID[s.ID] = s
		h.byHook[s.Hook] = append(h.byHook[s.Hook], s)
		h.defs = append(h.defs, s.Definition)
	}
	for _, hook := range Hooks() {
		// The aggregate's prefetch is the union of its services'
		// templates; a key two services use for different queries is
		// left to each service to resolve itself.
		pf := map[string]string{}
		clash := map[string]bool{}
		for _, s := range h.byHook[hook] {
			for k, v := range s.Prefetch {
				if old, ok := pf[k]; ok && old != v {
					clash[k] = true
				}
				pf[k] = v
			}
		}
		for k := range clash {
			delete(pf, k)
		}
		if len(pf) == 0 {
			pf = nil
		}
		agg := Definition{Hook: hook, ID: AggregateID(hook), Title: "All " + hook + " services",
			Description: "The cards of every Junction service for " + hook + " and of the external CDS services registered with this server for it, in one call. An external service that fails or does not answer in time is named in an info card; it never fails the call.",
			Prefetch:    pf}
		h.defs = append(h.defs, agg)
	}
	return h
}

// ServeHTTP routes /cds-services, /cds-services/{id} and
// /cds-services/{id}/feedback.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// CDS clients are often browser applications (CDS Hooks 2.0
	// §Cross-Origin Resource Sharing).
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
	w.Header().Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	rest := strings.Trim(strings.TrimPrefix(r.URL.Path, "/cds-services"), "/")
	parts := strings.Split(rest, "/")
	var err error
	switch {
	case rest == "":
		if r.Method != http.MethodGet {
			err = errorf(405, "GET /cds-services lists the services")
			break
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"services": h.defs})
		return
	case len(parts) == 1:
		err = h.call(w, r, parts[0])
	case len(parts) == 2 && parts[1] == "feedback":
		err = h.feedbackCall(w, r, parts[0])
	default:
		err = errorf(404, "no such CDS Hooks endpoint")
	}
	if err != nil {
		h.writeError(w, r, err)
	}
}

func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	if !errors.As(err, &e) {
		h.opts.Logger.Error("CDS service failed", "path", r.URL.Path, "err", err)
		e = errorf(500, "the CDS service failed; the error is in the server log")
	}
	w.Header().Set("Content-Type", "application/json")
	if e.Status == 401 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="junction"`)
	}
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": e.Message})
}

const maxBody = 4 << 20

// readJSON decodes the body into v.
func readJSON(r *http.Request, v any) error {
	if r.Method != http.MethodPost {
		return errorf(405, "use POST")
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return errorf(415, "the body must be application/json")
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return errorf(400, "cannot read the body")
	}
	if len(b) > maxBody {
		return errorf(413, "the body is larger than %d bytes", maxBody)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return errorf(400, "the body is not valid JSON for this endpoint: %v", err)
	}
	return nil
}

// hookOfAggregate returns the hook of an aggregate service id.
func hookOfAggregate(id string) (string, bool) {
	hook, ok := strings.CutPrefix(id, "junction-all-")
	if !ok {
		return "", false
	}
	_, ok = hookContexts[hook]
	return hook, ok
}

func (h *Handler) call(w http.ResponseWriter, r *http.Request, id string) error {
	svc, ok := h.byID[id]
	aggHook, isAgg := hookOfAggregate(id)
	if !ok && !isAgg {
		return errorf(404, "no CDS service %q", clip(id))
	}
	hook := aggHook
	if ok {
		hook = svc.Hook
	}
	ctx, err := h.authenticate(r)
	if err != nil {
		return err
	}
	var req Request
	if err := readJSON(r, &req); err != nil {
		return err
	}
	if req.Hook != hook {
		return errorf(400, "service %s answers the %s hook, not %q", id, hook, clip(req.Hook))
	}
	if req.HookInstance == "" {
		return errorf(400, "hookInstance is required")
	}
	d, err := parseContext(&req)
	if err != nil {
		return err
	}
	d.Now, d.FHIRBase = h.opts.Now(), h.opts.FHIRBase(r)
	var cards []Card
	if ok {
		if cards, err = h.runService(ctx, svc, &req, d); err != nil {
			return err
		}
	} else if cards, err = h.aggregate(ctx, &req, d); err != nil {
		return err
	}
	if cards == nil {
		cards = []Card{}
	}
	for i := range cards {
		if cards[i].UUID == "" {
			cards[i].UUID = newUUID()
		}
		for j := range cards[i].Suggestions {
			if cards[i].Suggestions[j].UUID == "" {
				cards[i].Suggestions[j].UUID = newUUID()
			}
		}
		if len(cards[i].Suggestions) > 0 && cards[i].SelectionBehavior == "" {
			cards[i].SelectionBehavior = "at-most-one"
		}
	}
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(map[string]any{"cards": cards})
}

// runService resolves svc's prefetch and computes its cards.
func (h *Handler) runService(ctx context.Context, svc *Service, req *Request, d Data) ([]Card, error) {
	d.Prefetch = map[string]json.RawMessage{}
	if err := h.resolvePrefetch(ctx, svc.Prefetch, req.Prefetch, &d); err != nil {
		return nil, err
	}
	return svc.Cards(ctx, d)
}

// aggregate runs every built-in service of the hook, then merges the
// cards of the external services registered for it (which run
// concurrently, each bounded by its timeout).
func (h *Handler) aggregate(ctx context.Context, req *Request, d Data) ([]Card, error) {
	var ext <-chan []Card
	if h.opts.External != nil {
		ch := make(chan []Card, 1)
		ext = ch
		go func() {
			cards, origin := h.opts.External.Call(ctx, h, req, d)
			h.remember(origin)
			ch <- cards
		}()
	}
	var cards []Card
	for _, svc := range h.byHook[d.Hook] {
		cs, err := h.runService(ctx, svc, req, d)
		if err != nil {
			var e *Error
			if errors.As(err, &e) && e.Status == 400 {
				return nil, err
			}
			// One built-in service failing must not hide the others'
			// cards; its absence is stated.
			h.opts.Logger.Error("CDS service failed inside the aggregate", "service", svc.ID, "err", err)
			cs = []Card{absentCard(svc.Title, "it failed; the error is in the server log")}
		}
		cards = append(cards, cs...)
	}
	if ext != nil {
		cards = append(cards, <-ext...)
	}
	return cards, nil
}

// absentCard states that a service's advice is missing from a response.
func absentCard(name, why string) Card {
	return Card{Summary: clipSummary("No advice from " + name + ": " + why), Indicator: "info",
		Source: Source{Label: "Junction CDS Hooks client"},
		Detail: "The cards shown do not include this service's advice. Its absence says nothing about the patient: do not read it as \"no concerns\"."}
}

func (h *Handler) authenticate(r *http.Request) (context.Context, error) {
	if h.opts.Authenticate == nil {
		return nil, errorf(401, "this server accepts no credentials for CDS Hooks")
	}
	ctx, err := h.opts.Authenticate(r)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return nil, err
		}
		return nil, errorf(401, "a valid bearer token is required")
	}
	return ctx, nil
}

// isNullOrOutcome reports a prefetch value the client could not fill:
// null, or (CDS Hooks 2.0) an OperationOutcome saying why.
func isNullOrOutcome(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return true
	}
	var head struct{ ResourceType string }
	_ = json.Unmarshal(raw, &head)
	return head.ResourceType == "OperationOutcome"
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
