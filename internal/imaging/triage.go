package imaging

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/nhs-junction/junction/internal/access"
	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/interaction"
	"github.com/nhs-junction/junction/internal/store"
)

// The codes of Junction's triage Observations.
const (
	// TriageSystem codes an AI triage Observation: every one carries
	// TriageCode, so that one search finds them all.
	TriageSystem = "https://github.com/nhs-junction/junction/fhir/CodeSystem/imaging-ai-triage"
	TriageCode   = "ai-triage-priority"
	// DeviceIdentifierSystem identifies a model Device by "name|version".
	DeviceIdentifierSystem = "https://github.com/nhs-junction/junction/fhir/NamingSystem/imaging-ai-model"
	dataAbsentSystem       = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
)

// Doer carries out an interaction (interaction.Service.Do): every read
// and write of the triage goes through it, so through the access
// decision and the audit.
type Doer interface {
	Do(ctx context.Context, req *interaction.Request) (*interaction.Response, error)
}

// Options configure a Service.
type Options struct {
	FHIR Doer
	// Model scores the studies; nil: no model is configured (the
	// worklist then orders by waiting time and says triage is off).
	Model *Client
	// Caller is who the automatic triage of a newly created study runs
	// as (a system caller allowed to read ImagingStudy and Endpoint and
	// to write Observation, Device and Provenance).
	Caller *access.Caller
	// Registrar is who records a model version's Device, the first time
	// the model answers with it: an administrative write (a Device is in
	// no patient's record) the server makes for the model its operator
	// configured, whoever asked for the triage. It goes through the
	// access decision and the audit like any write.
	Registrar *access.Caller
	// BaseURL is the FHIR base for the automatic triage; a request's own
	// base is used otherwise.
	BaseURL string
	Now     func() time.Time
	Logger  *slog.Logger
}

// Service runs the triage and serves the operations.
type Service struct {
	opts  Options
	queue chan string
	wg    sync.WaitGroup // jobs queued or running
	stop  chan struct{}
	once  sync.Once
}

// queueLen bounds the studies waiting for automatic triage. A study that
// does not fit is logged and stays on the worklist flagged "AI triage
// pending" (never dropped); $ai-triage scores it on demand.
const queueLen = 1024

// New returns the service and starts its worker; Close stops it.
func New(opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Service{opts: opts, queue: make(chan string, queueLen), stop: make(chan struct{})}
	go s.work()
	return s
}

// Close stops the worker; studies still queued stay unscored.
func (s *Service) Close() { s.once.Do(func() { close(s.stop) }) }

// Wait blocks until every study queued so far has been triaged.
func (s *Service) Wait() { s.wg.Wait() }

// Committed is the interaction service's Committed callback: a newly
// created ImagingStudy is queued for automatic triage.
func (s *Service) Committed(v store.Version) {
	if s.opts.Model == nil || v.Type != "ImagingStudy" || v.Version != 1 || v.Deleted {
		return
	}
	s.wg.Add(1)
	select {
	case s.queue <- v.ID:
	default:
		s.wg.Done()
		s.opts.Logger.Warn("imaging triage queue full: the study stays on the worklist as AI triage pending", "study", v.ID)
	}
}

func (s *Service) work() {
	for {
		select {
		case <-s.stop:
			return
		case id := <-s.queue:
			req := &interaction.Request{Caller: s.opts.Caller, BaseURL: s.opts.BaseURL}
			if _, err := s.Triage(context.Background(), req, id); err != nil {
				s.opts.Logger.Warn("imaging triage", "study", id, "err", err)
			}
			s.wg.Done()
		}
	}
}

// study is the part of an ImagingStudy the triage reads.
type study struct {
	ResourceType string
	ID           string
	Status       string
	Started      string
	Subject      struct{ Reference string }
	Identifier   []struct{ System, Value string }
	Modality     []struct{ Code string }
	Endpoint     []struct{ Reference string }
	Meta         struct{ LastUpdated string }
}

// Triage scores one study as the caller of base (its Caller and
// BaseURL), and records the outcome: an Observation with the score, the
// model's Device and a Provenance naming it, in one transaction; or,
// when the model fails, times out or answers out of contract, an
// Observation saying AI triage is unavailable and why. It returns the
// Observation written. A study the caller may not read is 404.
func (s *Service) Triage(ctx context.Context, base *interaction.Request, id string) (json.RawMessage, error) {
	if s.opts.Model == nil {
		return nil, fhir.Errorf(400, fhir.IssueNotSupported, "No imaging triage model is configured on this server (--imaging-model)")
	}
	do := func(r *interaction.Request) (*interaction.Response, error) {
		r.Caller, r.BaseURL = base.Caller, base.BaseURL
		return s.opts.FHIR.Do(ctx, r)
	}
	resp, err := do(&interaction.Request{Kind: interaction.Read, Type: "ImagingStudy", ID: id, Method: http.MethodGet})
	if err != nil {
		return nil, err
	}
	var st study
	if err := json.Unmarshal(resp.Body, &st); err != nil {
		return nil, err
	}
	if st.Status == "cancelled" || st.Status == "entered-in-error" {
		return nil, fhir.Errorf(409, fhir.IssueBusinessRule, "ImagingStudy/%s is %s: it is not triaged", id, st.Status)
	}
	ref := ModelRequest{RequestID: newID(), ImagingStudy: StudyRef{Reference: strings.TrimSuffix(base.BaseURL, "/") + "/ImagingStudy/" + id, Started: st.Started}}
	for _, idf := range st.Identifier {
		if idf.System == "urn:dicom:uid" {
			ref.ImagingStudy.StudyInstanceUID = strings.TrimPrefix(idf.Value, "urn:oid:")
		}
	}
	for _, m := range st.Modality {
		ref.ImagingStudy.Modality = append(ref.ImagingStudy.Modality, m.Code)
	}
	for _, e := range st.Endpoint {
		typ, eid, ok := strings.Cut(e.Reference, "/")
		if !ok || typ != "Endpoint" {
			continue
		}
		er, err := do(&interaction.Request{Kind: interaction.Read, Type: "Endpoint", ID: eid, Method: http.MethodGet})
		if err != nil {
			continue // an Endpoint the caller may not read is not sent
		}
		var ep struct{ Address string }
		if json.Unmarshal(er.Body, &ep) == nil && ep.Address != "" {
			ref.ImagingStudy.Endpoints = append(ref.ImagingStudy.Endpoints, ep.Address)
		}
	}
	res, scoreErr := s.opts.Model.Score(ctx, ref)
	if scoreErr == nil {
		if err := s.registerDevice(ctx, base.BaseURL, res.Model); err != nil {
			return nil, err
		}
	}
	bundle := s.outcomeBundle(st, res, scoreErr)
	body, _ := json.Marshal(bundle)
	out, err := do(&interaction.Request{Kind: interaction.Transaction, Body: body, Method: http.MethodPost, ContentType: "application/fhir+json"})
	if err != nil {
		return nil, err
	}
	if scoreErr != nil {
		s.opts.Logger.Warn("imaging triage unavailable", "study", id, "err", scoreErr)
	}
	return firstResource(out.Body, "Observation")
}

// outcomeBundle is the transaction recording the model's answer (or its
// failure) for st.
func (s *Service) outcomeBundle(st study, res Result, scoreErr error) map[string]any {
	now := s.opts.Now().UTC().Format(time.RFC3339Nano)
	studyRef := map[string]any{"reference": "ImagingStudy/" + st.ID}
	obsURL := "urn:uuid:" + newID()
	triage := map[string]any{"system": TriageSystem, "code": TriageCode, "display": "AI imaging triage priority"}
	obs := map[string]any{
		"resourceType":      "Observation",
		"category":          []any{map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "imaging"}}}},
		"subject":           map[string]any{"reference": st.Subject.Reference},
		"effectiveDateTime": now,
		"issued":            now,
		// The ImagingStudy is the event the reading belongs to (partOf)
		// and the data it was read from (derivedFrom); R4 allows
		// ImagingStudy in both.
		"partOf":      []any{studyRef},
		"derivedFrom": []any{studyRef},
	}
	entries := []any{}
	if scoreErr != nil {
		reason := scoreErr.Error()
		obs["status"] = "cancelled"
		obs["code"] = map[string]any{"coding": []any{triage}, "text": "AI imaging triage"}
		obs["dataAbsentReason"] = map[string]any{"coding": []any{map[string]any{"system": dataAbsentSystem, "code": "error", "display": "Error"}}, "text": "AI triage unavailable"}
		obs["note"] = []any{map[string]any{"text": "AI triage unavailable: " + reason}}
		entries = append(entries, map[string]any{"fullUrl": obsURL, "resource": obs, "request": map[string]any{"method": "POST", "url": "Observation"}})
		return map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": entries}
	}
	devID := DeviceID(res.Model)
	deviceRef := map[string]any{"reference": "Device/" + devID, "display": res.Model.Name + " " + res.Model.Version}
	finding := map[string]any{"system": res.Finding.System, "code": res.Finding.Code}
	if res.Finding.Display != "" {
		finding["display"] = res.Finding.Display
	}
	obs["status"] = "preliminary" // a machine reading no clinician has verified
	obs["code"] = map[string]any{"coding": []any{triage, finding}, "text": "AI imaging triage: " + firstNonEmpty(res.Finding.Display, res.Finding.Code)}
	obs["valueQuantity"] = map[string]any{"value": res.Score, "unit": "score", "system": "http://unitsofmeasure.org", "code": "1"}
	// R4 Observation.performer cannot be a Device; the model that made
	// the reading is Observation.device, and the Provenance agent.
	obs["device"] = deviceRef
	obs["note"] = []any{map[string]any{"text": "Priority from an AI model for ordering the reporting worklist. It is not a diagnosis and does not replace the radiology report."}}
	entries = append(entries,
		map[string]any{"fullUrl": obsURL, "resource": obs, "request": map[string]any{"method": "POST", "url": "Observation"}},
		map[string]any{"fullUrl": "urn:uuid:" + newID(), "request": map[string]any{"method": "POST", "url": "Provenance"}, "resource": map[string]any{
			"resourceType": "Provenance",
			"target":       []any{map[string]any{"reference": obsURL}},
			"recorded":     now,
			"activity":     map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-DataOperation", "code": "CREATE"}}},
			"agent": []any{map[string]any{
				"type": map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type", "code": "performer"}}},
				"who":  deviceRef,
			}},
			"entity": []any{map[string]any{"role": "source", "what": studyRef}},
		}},
	)
	return map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": entries}
}

// registerDevice stores the Device of a model version unless it exists.
func (s *Service) registerDevice(ctx context.Context, baseURL string, m Model) error {
	devID := DeviceID(m)
	_, err := s.opts.FHIR.Do(ctx, &interaction.Request{Kind: interaction.Read, Type: "Device", ID: devID, Method: http.MethodGet, Caller: s.opts.Registrar, BaseURL: baseURL})
	var fe *fhir.Error
	if err == nil {
		return nil
	} else if !errors.As(err, &fe) || fe.Status != http.StatusNotFound {
		return err
	}
	device := map[string]any{
		"resourceType": "Device", "id": devID, "status": "active",
		"identifier": []any{map[string]any{"system": DeviceIdentifierSystem, "value": m.Name + "|" + m.Version}},
		"deviceName": []any{map[string]any{"name": m.Name, "type": "model-name"}},
		"version":    []any{map[string]any{"value": m.Version}},
		"type":       map[string]any{"text": "AI imaging triage model (software)"},
	}
	body, _ := json.Marshal(device)
	_, err = s.opts.FHIR.Do(ctx, &interaction.Request{Kind: interaction.Update, Type: "Device", ID: devID, Body: body, Method: http.MethodPut,
		ContentType: "application/fhir+json", Caller: s.opts.Registrar, BaseURL: baseURL})
	return err
}

// DeviceID is the id of the Device of a model version: stable, so every
// score of one version names the same Device.
func DeviceID(m Model) string {
	h := sha256.Sum256([]byte(m.Name + "|" + m.Version))
	return fmt.Sprintf("ai-model-%x", h[:12])
}

// firstResource returns the first resource of typ in a transaction
// response.
func firstResource(body []byte, typ string) (json.RawMessage, error) {
	var b struct {
		Entry []struct {
			Resource json.RawMessage
			Response struct{ Location string }
		}
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, err
	}
	for _, e := range b.Entry {
		var head struct{ ResourceType string }
		if json.Unmarshal(e.Resource, &head) == nil && head.ResourceType == typ {
			return e.Resource, nil
		}
	}
	return nil, errors.New("imaging: the transaction returned no " + typ)
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
