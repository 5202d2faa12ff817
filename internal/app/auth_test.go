package app

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/nhs-junction/junction/internal/authn"
	"github.com/nhs-junction/junction/internal/config"
)

// TestAuthOffLoopbackOnly checks that --auth off is refused anywhere but
// on a loopback address.
func TestAuthOffLoopbackOnly(t *testing.T) {
	cfg := config.Defaults()
	cfg.Auth = "off"
	for _, tc := range []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:8080", true},
		{"127.0.0.2:8080", true},
		{"[::1]:8080", true},
		{"0.0.0.0:8080", false},
		{"[::]:8080", false},
		{"10.1.2.3:8080", false},
	} {
		addr, err := net.ResolveTCPAddr("tcp", tc.addr)
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckAuthOff(cfg, addr); (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want allowed %v", tc.addr, err, tc.ok)
		}
	}
	cfg.Auth = "on"
	addr, _ := net.ResolveTCPAddr("tcp", "0.0.0.0:8080")
	if err := CheckAuthOff(cfg, addr); err != nil {
		t.Errorf("auth on, any address: %v", err)
	}
}

// TestAuthOnRefusesAnonymous checks that the composed server, with
// authorisation on and no token, answers 401 with a Bearer challenge to
// every FHIR interaction except the CapabilityStatement.
func TestAuthOnRefusesAnonymous(t *testing.T) {
	ctx := context.Background()
	cfg := config.Defaults()
	cfg.Data = t.TempDir()
	engine, err := OpenStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	node, err := Build(ctx, cfg, engine, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(node.Handler)
	defer srv.Close()
	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/fhir/Patient/x", ""},
		{"GET", "/fhir/Patient", ""},
		{"GET", "/fhir/_history", ""},
		{"POST", "/fhir/Patient", `{"resourceType":"Patient"}`},
		{"POST", "/fhir", `{"resourceType":"Bundle","type":"batch"}`},
		{"GET", "/fhir/Patient/x/$everything", ""},
		{"DELETE", "/fhir/Patient/x", ""},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
		req.Header.Set("Content-Type", "application/fhir+json")
		if tc.method == "GET" && tc.path == "/fhir/Patient" {
			req.Header.Set("Authorization", "Bearer not-a-token")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer ") || !strings.Contains(string(b), `"OperationOutcome"`) {
			t.Errorf("%s %s: %d %q %s; want 401 with a Bearer challenge and an OperationOutcome", tc.method, tc.path, resp.StatusCode, resp.Header.Get("WWW-Authenticate"), b)
		}
	}
	resp, err := http.Get(srv.URL + "/fhir/metadata")
	if err != nil {
		t.Fatal(err)
	}
	meta, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("metadata without a token: %d, want 200", resp.StatusCode)
	}
	// SMART App Launch 2.x: the CapabilityStatement names the
	// authorisation server (rest.security, SMART-on-FHIR, oauth-uris).
	if !strings.Contains(string(meta), `"security"`) || !strings.Contains(string(meta), "SMART-on-FHIR") || !strings.Contains(string(meta), "oauth-uris") {
		t.Errorf("metadata lacks the SMART security element: %.300s", meta)
	}
}

// TestAuthEndToEnd drives the composed server with authorisation on: a
// SMART Backend Services client gets a token with a signed assertion and
// may then do what its scopes grant and nothing else.
func TestAuthEndToEnd(t *testing.T) {
	ctx := context.Background()
	srv := httptest.NewUnstartedServer(nil)
	cfg := config.Defaults()
	cfg.Data = t.TempDir()
	cfg.BaseURL = "http://" + srv.Listener.Addr().String() + "/fhir"
	engine, err := OpenStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	node, err := Build(ctx, cfg, engine, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = node.Handler
	srv.Start()
	defer srv.Close()

	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	priv := jose.JSONWebKey{Key: key, KeyID: "k1", Algorithm: "ES384", Use: "sig"}
	pub, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{priv.Public()}})
	client, err := authn.AddClient(ctx, engine.Store.(authn.DB), authn.NewClient{Name: "reader", JWKS: pub, Scopes: []string{"system/Patient.rs"}})
	if err != nil {
		t.Fatal(err)
	}
	assertion, err := authn.SignAssertion(priv, client.ID, node.Auth.TokenURL(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"system/Patient.rs"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion}}
	resp, err := http.PostForm(node.Auth.TokenURL(), form)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if resp.StatusCode != 200 || tok.AccessToken == "" {
		t.Fatalf("token: %d", resp.StatusCode)
	}
	call := func(method, path, body string) int {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		req.Header.Set("Content-Type", "application/fhir+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := call("GET", "/fhir/Patient", ""); got != 200 {
		t.Errorf("search Patient with system/Patient.rs: %d, want 200", got)
	}
	if got := call("GET", "/fhir/Observation", ""); got != 403 {
		t.Errorf("search Observation with system/Patient.rs: %d, want 403", got)
	}
	if got := call("POST", "/fhir/Patient", `{"resourceType":"Patient"}`); got != 403 {
		t.Errorf("create Patient with system/Patient.rs: %d, want 403", got)
	}
	if got := call("GET", "/fhir/Patient/nobody", ""); got != 404 {
		t.Errorf("read a missing Patient: %d, want 404", got)
	}
}
