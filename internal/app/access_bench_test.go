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
	"github.com/nhs-junction/junction/internal/interaction"
)

// BenchmarkAccess is the cost of authorisation on the demo population:
// the same read and search through the whole HTTP stack with
// authorisation off and with a SMART Backend Services token (signature
// check, scopes, the decision, the filter in the statement), and through
// the service as a GP practitioner (care relationship and label rules in
// the statement) against the unrestricted development caller. The ratio
// of each pair is what authorisation costs.
func BenchmarkAccess(b *testing.B) {
	ctx := context.Background()
	for _, auth := range []string{"off", "on"} {
		srv := httptest.NewUnstartedServer(nil)
		cfg := config.Defaults()
		cfg.Data = b.TempDir()
		cfg.Auth = auth
		cfg.BaseURL = "http://" + srv.Listener.Addr().String() + "/fhir"
		engine, err := OpenStore(ctx, cfg)
		if err != nil {
			b.Fatal(err)
		}
		node, err := Build(ctx, cfg, engine, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := LoadDemo(ctx, engine, node.Service); err != nil {
			b.Fatal(err)
		}
		srv.Config.Handler = node.Handler
		srv.Start()
		token := ""
		if auth == "on" {
			token = systemToken(b, engine.Store.(authn.DB), node)
		}
		patient := demoPatientID()
		get := func(b *testing.B, path string) {
			req, _ := http.NewRequest("GET", srv.URL+path, nil)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("%s: %d", path, resp.StatusCode)
			}
		}
		b.Run("http/auth-"+auth+"/read", func(b *testing.B) {
			for b.Loop() {
				get(b, "/fhir/Patient/"+patient)
			}
		})
		b.Run("http/auth-"+auth+"/search", func(b *testing.B) {
			for b.Loop() {
				get(b, "/fhir/Observation?patient="+patient+"&_count=20")
			}
		})
		if auth == "off" {
			// The decision and its filter at the service, as a GP of the
			// patient's own practice and as the unrestricted caller.
			gp := gpOf(b, node.Service, patient)
			for _, c := range []struct {
				name   string
				caller *access.Caller
			}{{"development", &access.Caller{Kind: access.Development}}, {"practitioner", gp}} {
				b.Run("service/"+c.name+"/search", func(b *testing.B) {
					for b.Loop() {
						req := &interaction.Request{Kind: interaction.SearchType, Type: "Observation", Caller: c.caller, BaseURL: "http://x/fhir",
							Query: url.Values{"patient": {patient}, "_count": {"20"}}}
						if _, err := node.Service.Do(ctx, req); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
		srv.Close()
		engine.Close()
	}
}

// systemToken registers a backend-services client allowed to read
// everything and returns an access token for it.
func systemToken(b *testing.B, db authn.DB, node *Node) string {
	key, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	priv := jose.JSONWebKey{Key: key, KeyID: "k1", Algorithm: "ES384", Use: "sig"}
	pub, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{priv.Public()}})
	client, err := authn.AddClient(context.Background(), db, authn.NewClient{Name: "bench", JWKS: pub, Scopes: []string{"system/*.rs"}})
	if err != nil {
		b.Fatal(err)
	}
	assertion, err := authn.SignAssertion(priv, client.ID, node.Auth.TokenURL(), time.Now())
	if err != nil {
		b.Fatal(err)
	}
	resp, err := http.PostForm(node.Auth.TokenURL(), url.Values{"grant_type": {"client_credentials"}, "scope": {"system/*.rs"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion}})
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	if tok.AccessToken == "" {
		b.Fatalf("no token: %d", resp.StatusCode)
	}
	return tok.AccessToken
}

// gpOf is a GP practitioner of patient's registered practice.
func gpOf(b *testing.B, svc *interaction.Service, patient string) *access.Caller {
	resp, err := svc.Do(context.Background(), &interaction.Request{Kind: interaction.Read, Type: "Patient", ID: patient, Caller: Operator})
	if err != nil {
		b.Fatal(err)
	}
	var p struct{ GeneralPractitioner []struct{ Reference string } }
	_ = json.Unmarshal(resp.Body, &p)
	for _, ref := range p.GeneralPractitioner {
		typ, id, _ := cutRef(ref.Reference)
		if typ != "Organization" {
			continue
		}
		org, err := svc.Do(context.Background(), &interaction.Request{Kind: interaction.Read, Type: "Organization", ID: id, Caller: Operator})
		if err != nil {
			b.Fatal(err)
		}
		var o struct {
			Identifier []struct{ System, Value string }
		}
		_ = json.Unmarshal(org.Body, &o)
		for _, i := range o.Identifier {
			if i.System == "https://fhir.nhs.uk/Id/ods-organization-code" {
				return &access.Caller{Kind: access.Practitioner, Subject: "gp", Organization: i.Value, Roles: []string{"R0260"}, Scopes: []string{"user/*.rs"}}
			}
		}
	}
	b.Fatal("the demo patient has no GP practice with an ODS code")
	return nil
}

func cutRef(ref string) (typ, id string, ok bool) {
	for i := 0; i < len(ref); i++ {
		if ref[i] == '/' {
			return ref[:i], ref[i+1:], true
		}
	}
	return "", "", false
}
