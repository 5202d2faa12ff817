// Package hooks serves CDS Hooks 2.0 (cds-hooks.hl7.org/2.0): discovery
// at GET /cds-services, service calls at POST /cds-services/{id}, and the
// feedback endpoint POST /cds-services/{id}/feedback. Prefetch templates
// the client did not fill are resolved locally, as the caller, through a
// Fetcher. The built-in services (NEWS2, stroke recognition) are in
// builtin.go.
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
	"regexp"
	"strings"
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
	Links     []Link `json:"links,omitempty"`
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
	Label string `json:"label"`
	URL   string `json:"url"`
	Type  string `json:"type"`
}

// Data is what a service works from: the prefetched (or locally fetched)
// resources by prefetch key, and the request's context values.
type Data struct {
	PatientID string
	Prefetch  map[string]json.RawMessage // nil value: none found
	Now       time.Time
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
	Now          func() time.Time
	Logger       *slog.Logger
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

// Handler serves /cds-services.
type Handler struct {
	opts     Options
	byID     map[string]*Service
	discover []byte
}

// New returns the handler. Mount it at "/cds-services" and
// "/cds-services/".
func New(opts Options) *Handler {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	h := &Handler{opts: opts, byID: map[string]*Service{}}
	var defs []Definition
	for i := range opts.Services {
		s := &opts.Services[i]
		h.byID[s.ID] = s
		defs = append(defs, s.Definition)
	}
	h.discover, _ = json.Marshal(map[string]any{"services": defs})
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
		_, _ = w.Write(h.discover)
		return
	case len(parts) == 1:
		err = h.call(w, r, parts[0])
	case len(parts) == 2 && parts[1] == "feedback":
		err = h.feedback(w, r, parts[0])
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

var idPattern = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)

func (h *Handler) call(w http.ResponseWriter, r *http.Request, id string) error {
	svc, ok := h.byID[id]
	if !ok {
		return errorf(404, "no CDS service %q", clip(id))
	}
	ctx, err := h.authenticate(r)
	if err != nil {
		return err
	}
	var req Request
	if err := readJSON(r, &req); err != nil {
		return err
	}
	if req.Hook != svc.Hook {
		return errorf(400, "service %s answers the %s hook, not %q", svc.ID, svc.Hook, clip(req.Hook))
	}
	if req.HookInstance == "" {
		return errorf(400, "hookInstance is required")
	}
	var patientID string
	if err := json.Unmarshal(req.Context["patientId"], &patientID); err != nil || !idPattern.MatchString(patientID) {
		return errorf(400, "context.patientId must be a FHIR resource id")
	}
	var userID string
	if raw, ok := req.Context["userId"]; !ok || json.Unmarshal(raw, &userID) != nil || userID == "" {
		return errorf(400, "context.userId is required for %s", svc.Hook)
	}
	d := Data{PatientID: patientID, Prefetch: map[string]json.RawMessage{}, Now: h.opts.Now()}
	for key, tmpl := range svc.Prefetch {
		got, given := req.Prefetch[key]
		if given && !isNullOrOutcome(got) {
			// Checked, never trusted blindly: prefetched data about
			// another patient would put the wrong patient's score on the
			// card.
			if err := checkPatient(got, patientID); err != nil {
				return errorf(400, "prefetch %q: %v", key, err)
			}
			d.Prefetch[key] = got
			continue
		}
		q := strings.ReplaceAll(tmpl, "{{context.patientId}}", patientID)
		q = strings.ReplaceAll(q, "{{context.userId}}", userID)
		res, err := h.opts.Fetch(ctx, q)
		if err != nil {
			var e *Error
			if errors.As(err, &e) {
				return err
			}
			// CDS Hooks 2.0: 412 when the service cannot obtain the data
			// it needs.
			h.opts.Logger.Warn("CDS prefetch failed", "query", q, "err", err)
			return errorf(412, "the data for prefetch %q could not be read", key)
		}
		d.Prefetch[key] = res
	}
	cards, err := svc.Cards(ctx, d)
	if err != nil {
		return err
	}
	if cards == nil {
		cards = []Card{}
	}
	for i := range cards {
		if cards[i].UUID == "" {
			cards[i].UUID = newUUID()
		}
	}
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(map[string]any{"cards": cards})
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

// checkPatient fails unless every resource in raw (a resource or a
// Bundle) is the patient, or about the patient by subject or patient.
func checkPatient(raw json.RawMessage, patientID string) error {
	var r struct {
		ResourceType string
		ID           string
		Subject      *struct{ Reference string }
		Patient      *struct{ Reference string }
		Entry        []struct{ Resource json.RawMessage }
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("not a FHIR resource")
	}
	switch {
	case r.ResourceType == "Bundle":
		for _, e := range r.Entry {
			if len(e.Resource) == 0 {
				continue
			}
			if err := checkPatient(e.Resource, patientID); err != nil {
				return err
			}
		}
		return nil
	case r.ResourceType == "OperationOutcome":
		return nil
	case r.ResourceType == "Patient":
		if r.ID != patientID {
			return fmt.Errorf("Patient/%s is not context.patientId", clip(r.ID))
		}
		return nil
	}
	ref := ""
	if r.Subject != nil {
		ref = r.Subject.Reference
	} else if r.Patient != nil {
		ref = r.Patient.Reference
	}
	if ref != "Patient/"+patientID && !strings.HasSuffix(ref, "/Patient/"+patientID) {
		return fmt.Errorf("%s/%s is about %q, not Patient/%s", r.ResourceType, clip(r.ID), clip(ref), patientID)
	}
	return nil
}

// Feedback is the feedback endpoint's body (CDS Hooks 2.0 §Feedback).
type Feedback struct {
	Feedback []struct {
		Card                string            `json:"card"`
		Outcome             string            `json:"outcome"`
		AcceptedSuggestions []json.RawMessage `json:"acceptedSuggestions,omitempty"`
		OverrideReason      json.RawMessage   `json:"overrideReason,omitempty"`
		OutcomeTimestamp    string            `json:"outcomeTimestamp"`
	} `json:"feedback"`
}

func (h *Handler) feedback(w http.ResponseWriter, r *http.Request, id string) error {
	if _, ok := h.byID[id]; !ok {
		return errorf(404, "no CDS service %q", clip(id))
	}
	if _, err := h.authenticate(r); err != nil {
		return err
	}
	var fb Feedback
	if err := readJSON(r, &fb); err != nil {
		return err
	}
	if len(fb.Feedback) == 0 {
		return errorf(400, "feedback must hold at least one entry")
	}
	for i, f := range fb.Feedback {
		if f.Card == "" {
			return errorf(400, "feedback[%d].card is required", i)
		}
		if f.Outcome != "accepted" && f.Outcome != "overridden" {
			return errorf(400, "feedback[%d].outcome must be accepted or overridden", i)
		}
		if _, err := time.Parse(time.RFC3339Nano, f.OutcomeTimestamp); err != nil {
			return errorf(400, "feedback[%d].outcomeTimestamp must be an instant", i)
		}
		if f.Outcome == "accepted" && len(f.OverrideReason) > 0 {
			return errorf(400, "feedback[%d]: an accepted card has no overrideReason", i)
		}
		h.opts.Logger.Info("CDS feedback", "service", id, "card", f.Card, "outcome", f.Outcome, "at", f.OutcomeTimestamp)
	}
	w.WriteHeader(http.StatusOK)
	return nil
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
