package app

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/nhs-junction/junction/internal/access"
	"github.com/nhs-junction/junction/internal/authn"
	"github.com/nhs-junction/junction/internal/config"
)

// TestHL7MessageStoreAuth composes the server as Serve does with
// authorisation on: the message store is mounted, refuses a request
// without a token (401) and a system client's token (403), and serves an
// administrator's.
func TestHL7MessageStoreAuth(t *testing.T) {
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
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	node, err := Build(ctx, cfg, engine, log)
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewFeed(cfg, engine, node.Service, log)
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = withHL7(node.Handler, f, hl7Authenticate(cfg, node))
	srv.Start()
	defer srv.Close()

	token := func(kind access.Kind) string {
		key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		priv := jose.JSONWebKey{Key: key, KeyID: "k1", Algorithm: "ES384", Use: "sig"}
		pub, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{priv.Public()}})
		client, err := authn.AddClient(ctx, engine.Store.(authn.DB), authn.NewClient{Name: string(kind), Kind: kind, JWKS: pub, Scopes: []string{"system/Patient.rs"}})
		if err != nil {
			t.Fatal(err)
		}
		assertion, err := authn.SignAssertion(priv, client.ID, node.Auth.TokenURL(), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.PostForm(node.Auth.TokenURL(), url.Values{"grant_type": {"client_credentials"}, "scope": {"system/Patient.rs"},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&tok)
		if resp.StatusCode != 200 || tok.AccessToken == "" {
			t.Fatalf("token for a %s client: %d", kind, resp.StatusCode)
		}
		return tok.AccessToken
	}
	get := func(tok string) *http.Response {
		req, _ := http.NewRequest("GET", srv.URL+"/hl7/messages", nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := get(""); resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("no token: %d %q, want 401 with a challenge", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	if resp := get("not-a-token"); resp.StatusCode != 401 {
		t.Errorf("bad token: %d, want 401", resp.StatusCode)
	}
	if resp := get(token(access.System)); resp.StatusCode != 403 {
		t.Errorf("system client: %d, want 403", resp.StatusCode)
	}
	if resp := get(token(access.Admin)); resp.StatusCode != 200 {
		t.Errorf("administrator: %d, want 200", resp.StatusCode)
	}
	// The FHIR API beside it is unchanged.
	if resp, err := http.Get(srv.URL + "/fhir/metadata"); err != nil || resp.StatusCode != 200 {
		t.Errorf("metadata: %v %v", err, resp)
	}
}
