package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/nhs-junction/junction/internal/access"
	"github.com/nhs-junction/junction/internal/config"
	"github.com/nhs-junction/junction/internal/interaction"
)

func putReq(typ, id string, body []byte) *interaction.Request {
	return &interaction.Request{Kind: interaction.Update, Type: typ, ID: id, Body: body, Caller: Operator}
}

// fakeCDSProvider is an external CDS service provider that behaves as a
// real one must: it verifies the JWT of every call against the JWK Set
// the calling server publishes (jwksURL), and answers its services:
// "ext-advice" (a card built from the prefetch it asked for), "ext-slow"
// (answers after the client's timeout), "ext-broken" (HTTP 500) and
// "ext-garbage" (not JSON).
type fakeCDSProvider struct {
	t       *testing.T
	srv     *httptest.Server
	jwksURL func() string
	iss     func() string

	mu       sync.Mutex
	jtis     map[string]bool
	bad      []string // JWT failures
	calls    []string // paths called with a valid JWT
	prefetch map[string]json.RawMessage
	feedback []string
}

func newFakeCDSProvider(t *testing.T, iss, jwksURL func() string) *fakeCDSProvider {
	p := &fakeCDSProvider{t: t, jwksURL: jwksURL, iss: iss, jtis: map[string]bool{}}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *fakeCDSProvider) discovery() string { return p.srv.URL + "/cds-services" }

// verify checks the JWT as CDS Hooks 2.0 §Trusting CDS Clients asks.
func (p *fakeCDSProvider) verify(r *http.Request) error {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return fmt.Errorf("no bearer JWT")
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES384, jose.RS384, jose.RS256})
	if err != nil {
		return err
	}
	if len(tok.Headers) != 1 || tok.Headers[0].KeyID == "" {
		return fmt.Errorf("no kid")
	}
	if jku, ok := tok.Headers[0].ExtraHeaders["jku"]; ok && jku != p.jwksURL() {
		return fmt.Errorf("jku %v, want %s", jku, p.jwksURL())
	}
	resp, err := http.Get(p.jwksURL())
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		return fmt.Errorf("JWKS: %v", err)
	}
	keys := set.Key(tok.Headers[0].KeyID)
	if len(keys) != 1 {
		return fmt.Errorf("kid %s not in the JWKS", tok.Headers[0].KeyID)
	}
	var claims jwt.Claims
	if err := tok.Claims(keys[0].Key, &claims); err != nil {
		return fmt.Errorf("signature: %v", err)
	}
	aud := p.srv.URL + r.URL.Path
	if err := claims.ValidateWithLeeway(jwt.Expected{Issuer: p.iss(), AnyAudience: jwt.Audience{aud}, Time: time.Now()}, 0); err != nil {
		return fmt.Errorf("claims: %v (iss %s aud %v)", err, claims.Issuer, claims.Audience)
	}
	if claims.Expiry == nil || claims.IssuedAt == nil || claims.Expiry.Time().Sub(claims.IssuedAt.Time()) > 5*time.Minute {
		return fmt.Errorf("exp must be at most five minutes after iat")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if claims.ID == "" || p.jtis[claims.ID] {
		return fmt.Errorf("jti missing or replayed")
	}
	p.jtis[claims.ID] = true
	return nil
}

func (p *fakeCDSProvider) serve(w http.ResponseWriter, r *http.Request) {
	if err := p.verify(r); err != nil {
		p.mu.Lock()
		p.bad = append(p.bad, r.URL.Path+": "+err.Error())
		p.mu.Unlock()
		w.WriteHeader(401)
		return
	}
	p.mu.Lock()
	p.calls = append(p.calls, r.URL.Path)
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/cds-services":
		io.WriteString(w, `{"services":[
			{"hook":"order-sign","id":"ext-advice","description":"advice","prefetch":{"meds":"MedicationRequest?subject=Patient/{{context.patientId}}&status=active"}},
			{"hook":"order-sign","id":"ext-slow","description":"slow"},
			{"hook":"order-sign","id":"ext-broken","description":"broken"},
			{"hook":"order-sign","id":"ext-garbage","description":"garbage"},
			{"hook":"patient-view","id":"ext-pv","description":"not called on order-sign"}]}`)
	case "/cds-services/ext-advice":
		var req struct {
			Hook       string
			FHIRServer string
			Prefetch   map[string]json.RawMessage
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		p.mu.Lock()
		p.prefetch = req.Prefetch
		p.mu.Unlock()
		n := 0
		var b struct{ Total int }
		if json.Unmarshal(req.Prefetch["meds"], &b) == nil {
			n = b.Total
		}
		fmt.Fprintf(w, `{"cards":[{"uuid":"ext-card-1","summary":"External advice: %d active medicines seen","indicator":"info","source":{"label":"Acme CDS"}}]}`, n)
	case "/cds-services/ext-advice/feedback":
		b, _ := io.ReadAll(r.Body)
		p.mu.Lock()
		p.feedback = append(p.feedback, string(b))
		p.mu.Unlock()
	case "/cds-services/ext-slow":
		select {
		case <-time.After(1500 * time.Millisecond):
		case <-r.Context().Done():
		}
		io.WriteString(w, `{"cards":[{"summary":"too late","indicator":"info","source":{"label":"Acme"}}]}`)
	case "/cds-services/ext-broken":
		w.WriteHeader(500)
	case "/cds-services/ext-garbage":
		io.WriteString(w, `{"cards":[{"summary":"","indicator":"loud"}]`)
	default:
		w.WriteHeader(404)
	}
}

func writeCDSConfig(t *testing.T, services ...map[string]string) string {
	path := filepath.Join(t.TempDir(), "cds-services.json")
	b, _ := json.Marshal(map[string]any{"services": services})
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkExternalMerge calls the order-sign aggregate and checks the merge:
// the built-in duplicate card, the external card, and one card stating
// each missing service, all within the timeout.
func checkExternalMerge(t *testing.T, s *cdsServer, p *fakeCDSProvider) {
	putPatient(s, "x1")
	s.must(201, "PUT", "/fhir/MedicationRequest/x-active", medRequest("x-active", "x1", "active", "27658006", "Amoxicillin"))
	start := time.Now()
	cs := cards(t, s.must(200, "POST", "/cds-services/junction-all-order-sign",
		orderCall("order-sign", "x1", nil, medRequest("x-draft", "x1", "draft", "27658006", "Amoxicillin"))))
	if took := time.Since(start); took > 2500*time.Millisecond {
		t.Errorf("the aggregate took %s: a slow service held it beyond its timeout", took)
	}
	var sums []string
	for _, c := range cs {
		sums = append(sums, c["summary"].(string))
	}
	all := strings.Join(sums, "\n")
	for _, want := range []string{"Possible duplicate: Amoxicillin", "External advice: 1 active medicines seen",
		"No advice from acme ext-slow", "No advice from acme ext-broken: HTTP 500", "No advice from acme ext-garbage", "No advice from offline"} {
		if !strings.Contains(all, want) {
			t.Errorf("no card %q among:\n%s", want, all)
		}
	}
	if strings.Contains(all, "too late") {
		t.Errorf("a card that came after the timeout was merged")
	}
	p.mu.Lock()
	bad, calls := p.bad, p.calls
	p.mu.Unlock()
	if len(bad) > 0 {
		t.Fatalf("the provider refused JWTs: %v", bad)
	}
	for _, c := range calls {
		if c == "/cds-services/ext-pv" {
			t.Errorf("a patient-view service was called on order-sign")
		}
	}
	// Feedback on the external card goes on to its service.
	var extUUID string
	for _, c := range cs {
		if strings.HasPrefix(c["summary"].(string), "External advice") {
			extUUID = c["uuid"].(string)
		}
	}
	s.must(200, "POST", "/cds-services/junction-all-order-sign/feedback", map[string]any{"feedback": []any{map[string]any{
		"card": extUUID, "outcome": "overridden", "outcomeTimestamp": time.Now().UTC().Format(time.RFC3339)}}})
	deadline := time.Now().Add(3 * time.Second)
	for {
		p.mu.Lock()
		n := len(p.feedback)
		p.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("feedback was not forwarded to the external service (bad JWTs: %v)", p.bad)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCDSExternalServices, authorisation off: the server signs with its
// start-up ES384 key and publishes it at /cds-client/jwks.
func TestCDSExternalServices(t *testing.T) {
	var base string
	p := newFakeCDSProvider(t, func() string { return base }, func() string { return base + "/cds-client/jwks" })
	cfg := config.Defaults()
	cfg.Data = t.TempDir()
	cfg.CDSServices = writeCDSConfig(t,
		map[string]string{"name": "acme", "discovery": p.discovery(), "timeout": "500ms"},
		map[string]string{"name": "offline", "discovery": "http://127.0.0.1:1/cds-services", "timeout": "300ms"})
	s := newCDSServer(t, cfg)
	base = s.base
	checkExternalMerge(t, s, p)
	// The prefetch the external service asked for was resolved here.
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.prefetch["meds"]) == 0 {
		t.Errorf("the external service got no prefetch")
	}
}

// TestCDSExternalServicesAuthOn: with authorisation on, the JWT is signed
// with the authorisation server's key, published at /auth/jwks.
func TestCDSExternalServicesAuthOn(t *testing.T) {
	ctx := context.Background()
	front := httptest.NewUnstartedServer(nil)
	base := "http://" + front.Listener.Addr().String()
	p := newFakeCDSProvider(t, func() string { return base }, func() string { return base + "/auth/jwks" })
	cfg := config.Defaults()
	cfg.Data = t.TempDir()
	cfg.BaseURL = base + "/fhir"
	cfg.CDSServices = writeCDSConfig(t,
		map[string]string{"name": "acme", "discovery": p.discovery(), "timeout": "500ms"},
		map[string]string{"name": "offline", "discovery": "http://127.0.0.1:1/cds-services", "timeout": "300ms"})
	engine, err := OpenStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	node, err := Build(ctx, cfg, engine, log)
	if err != nil {
		t.Fatal(err)
	}
	// The hooks are called as a development caller here (getting a user
	// token is the authentication tests' business); the JWT to the
	// external services is what is under test.
	dev := func(*http.Request) (*access.Caller, error) {
		return &access.Caller{Kind: access.Development, Subject: "t"}, nil
	}
	routes, _, err := withCDSHooks(nil, node.Service, dev, cfg, node.Auth, log)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/cds-services", routes["/cds-services"])
	mux.Handle("/cds-services/", routes["/cds-services/"])
	mux.Handle("/", node.Handler)
	front.Config.Handler = mux
	front.Start()
	defer front.Close()
	s := &cdsServer{t: t, base: base}
	// Writes through /fhir need a token with auth on: seed directly.
	seed := func(typ, id string, body map[string]any) {
		b, _ := json.Marshal(body)
		if _, err := node.Service.Do(ctx, putReq(typ, id, b)); err != nil {
			t.Fatal(err)
		}
	}
	seed("Patient", "x1", map[string]any{"resourceType": "Patient", "id": "x1"})
	seed("MedicationRequest", "x-active", medRequest("x-active", "x1", "active", "27658006", "Amoxicillin"))
	start := time.Now()
	cs := cards(t, s.must(200, "POST", "/cds-services/junction-all-order-sign",
		orderCall("order-sign", "x1", nil, medRequest("x-draft", "x1", "draft", "27658006", "Amoxicillin"))))
	if time.Since(start) > 2500*time.Millisecond {
		t.Errorf("too slow")
	}
	found := false
	for _, c := range cs {
		found = found || strings.HasPrefix(c["summary"].(string), "External advice: 1")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !found || len(p.bad) > 0 {
		t.Fatalf("external card found %v; JWT failures %v; cards %v", found, p.bad, cs)
	}
}
