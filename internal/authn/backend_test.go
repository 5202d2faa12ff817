package authn

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/nhs-junction/junction/internal/access"
)

// assertion signs claims with key and alg, with extra headers.
func assertion(t *testing.T, key jose.JSONWebKey, alg jose.SignatureAlgorithm, claims any, headers map[jose.HeaderKey]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", key.KeyID)
	for k, v := range headers {
		opts = opts.WithHeader(k, v)
	}
	sk := key.Key
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: sk}, opts)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestClientCredentials(t *testing.T) {
	backends(t, func(t *testing.T, db DB) {
		f := newFixture(t, db)
		now := f.clock.Now()
		claims := func(c Client, mod func(*jwt.Claims)) jwt.Claims {
			cl := jwt.Claims{Issuer: c.ID, Subject: c.ID, Audience: jwt.Audience{f.srv.TokenURL()}, ID: randomToken(12),
				IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(4 * time.Minute))}
			if mod != nil {
				mod(&cl)
			}
			return cl
		}
		otherEC := newECKey(t)
		otherEC.KeyID = f.ecKey.KeyID // same kid, different key
		replayed := assertion(t, f.ecKey, jose.ES384, claims(f.sys, nil), nil)
		tests := []struct {
			name      string
			assertion string
			scope     string
			wantCode  int
			wantErr   string
			wantScope string
		}{
			{"ES384 inline key", replayed, "system/Patient.rs", 200, "", "system/Patient.rs"},
			{"jti replay refused", replayed, "system/Patient.rs", 401, "invalid_client", ""},
			{"RS384 inline key, v1 scope narrowed to registration", assertion(t, f.rsaKey, jose.RS384, claims(f.sysRSA, nil), nil),
				"system/Patient.read system/Observation.write", 200, "", "system/Patient.read"},
			{"wildcard narrowed to registered types", assertion(t, f.ecKey, jose.ES384, claims(f.sys, nil), nil),
				"system/*.rs", 200, "", "system/Patient.rs system/Observation.rs"},
			{"user scope not granted to a system client", assertion(t, f.ecKey, jose.ES384, claims(f.sys, nil), nil),
				"user/Patient.rs", 400, "invalid_scope", ""},
			{"no scope", assertion(t, f.ecKey, jose.ES384, claims(f.sys, nil), nil), "", 400, "invalid_scope", ""},
			{"expired assertion", assertion(t, f.ecKey, jose.ES384, claims(f.sys, func(c *jwt.Claims) {
				c.IssuedAt = jwt.NewNumericDate(now.Add(-10 * time.Minute))
				c.Expiry = jwt.NewNumericDate(now.Add(-6 * time.Minute))
			}), nil), "system/Patient.rs", 401, "invalid_client", ""},
			{"lifetime over five minutes", assertion(t, f.ecKey, jose.ES384, claims(f.sys, func(c *jwt.Claims) {
				c.Expiry = jwt.NewNumericDate(now.Add(10 * time.Minute))
			}), nil), "system/Patient.rs", 401, "invalid_client", ""},
			{"exp - iat over five minutes", assertion(t, f.ecKey, jose.ES384, claims(f.sys, func(c *jwt.Claims) {
				c.IssuedAt = jwt.NewNumericDate(now.Add(-3 * time.Minute))
				c.Expiry = jwt.NewNumericDate(now.Add(4 * time.Minute))
			}), nil), "system/Patient.rs", 401, "invalid_client", ""},
			{"no exp", assertion(t, f.ecKey, jose.ES384, claims(f.sys, func(c *jwt.Claims) { c.Expiry = nil }), nil), "system/Patient.rs", 401, "invalid_client", ""},
			{"no jti", assertion(t, f.ecKey, jose.ES384, claims(f.sys, func(c *jwt.Claims) { c.ID = "" }), nil), "system/Patient.rs", 401, "invalid_client", ""},
			{"wrong aud", assertion(t, f.ecKey, jose.ES384, claims(f.sys, func(c *jwt.Claims) { c.Audience = jwt.Audience{f.base} }), nil),
				"system/Patient.rs", 401, "invalid_client", ""},
			{"sub is not iss", assertion(t, f.ecKey, jose.ES384, claims(f.sys, func(c *jwt.Claims) { c.Subject = "someone" }), nil),
				"system/Patient.rs", 401, "invalid_client", ""},
			{"wrong key with the registered kid", assertion(t, otherEC, jose.ES384, claims(f.sys, nil), nil), "system/Patient.rs", 401, "invalid_client", ""},
			{"unknown kid", assertion(t, newECKey(t), jose.ES384, claims(f.sys, nil), nil), "system/Patient.rs", 401, "invalid_client", ""},
			{"wrong alg RS256", assertion(t, f.rsaKey, jose.RS256, claims(f.sysRSA, nil), nil), "system/Patient.rs", 401, "invalid_client", ""},
			{"wrong alg ES384 for an RSA key", assertion(t, f.ecKey, jose.ES384, claims(f.sysRSA, nil), map[jose.HeaderKey]any{"kid": f.rsaKey.KeyID}),
				"system/Patient.rs", 401, "invalid_client", ""},
			{"jku not registered", assertion(t, f.ecKey, jose.ES384, claims(f.sys, nil), map[jose.HeaderKey]any{"jku": "https://evil.example/jwks"}),
				"system/Patient.rs", 401, "invalid_client", ""},
			{"unknown client", assertion(t, f.ecKey, jose.ES384, claims(Client{ID: "nobody"}, nil), nil), "system/Patient.rs", 401, "invalid_client", ""},
			{"public client cannot use assertions", assertion(t, f.ecKey, jose.ES384, claims(f.app, nil), nil), "system/Patient.rs", 401, "invalid_client", ""},
			{"not a JWT", "not.a.jwt", "system/Patient.rs", 401, "invalid_client", ""},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				code, body, h := f.post("/auth/token", url.Values{"grant_type": {"client_credentials"}, "scope": {tc.scope},
					"client_assertion_type": {AssertionType}, "client_assertion": {tc.assertion}})
				if code != tc.wantCode || str(body["error"]) != tc.wantErr {
					t.Fatalf("got %d %v, want %d %q", code, body, tc.wantCode, tc.wantErr)
				}
				if h.Get("Cache-Control") != "no-store" || h.Get("Pragma") != "no-cache" {
					t.Errorf("headers %v: want Cache-Control no-store and Pragma no-cache", h)
				}
				if tc.wantCode != 200 {
					if str(body["error_description"]) == "" {
						t.Error("no error_description")
					}
					return
				}
				if got := str(body["scope"]); got != tc.wantScope {
					t.Errorf("scope %q, want %q", got, tc.wantScope)
				}
				if body["expires_in"].(float64) > 300 || str(body["token_type"]) != "Bearer" {
					t.Errorf("token response %v: want a Bearer token living at most 300 s", body)
				}
				caller, err := f.authenticate(str(body["access_token"]))
				if err != nil {
					t.Fatal(err)
				}
				if caller.Kind != access.System || caller.Subject == "" || caller.ClientID != caller.Subject || strings.Join(caller.Scopes, " ") != tc.wantScope {
					t.Errorf("caller %+v", caller)
				}
			})
		}
		t.Run("wrong assertion type", func(t *testing.T) {
			code, body, _ := f.post("/auth/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"system/Patient.rs"},
				"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:saml2-bearer"}, "client_assertion": {replayed}})
			if code != 401 || body["error"] != "invalid_client" {
				t.Fatalf("%d %v", code, body)
			}
		})
		t.Run("unsupported grant type", func(t *testing.T) {
			code, body, _ := f.post("/auth/token", url.Values{"grant_type": {"password"}})
			if code != 400 || body["error"] != "unsupported_grant_type" {
				t.Fatalf("%d %v", code, body)
			}
		})
		t.Run("disabled client", func(t *testing.T) {
			code, body := f.systemToken(f.sysRSA, f.rsaKey, "system/*.read")
			if code != 200 {
				t.Fatalf("%d %v", code, body)
			}
			tok := str(body["access_token"])
			if err := DisableClient(context.Background(), f.db, f.sysRSA.ID); err != nil {
				t.Fatal(err)
			}
			if code, body := f.systemToken(f.sysRSA, f.rsaKey, "system/*.read"); code != 401 {
				t.Fatalf("disabled client got a token: %d %v", code, body)
			}
			f.clock.Add(statusTTL + time.Second) // the enabled state is cached that long
			if _, err := f.authenticate(tok); err == nil {
				t.Fatal("a disabled client's token still authenticates")
			}
		})
	})
}

// TestJWKSURL registers a client by JWKS URL: the keys are fetched,
// cached, and fetched again when the client rotates to a new kid.
func TestJWKSURL(t *testing.T) {
	f := newFixture(t, openSQLite(t))
	var fetches atomic.Int32
	keys := atomic.Value{}
	keys.Store(publicJWKS(t, f.ecKey))
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write(keys.Load().([]byte))
	}))
	defer jwks.Close()
	c := f.addClient(NewClient{Name: "By URL", JWKSURL: jwks.URL + "/jwks.json", Scopes: []string{"system/*.rs"}})
	for i := 0; i < 2; i++ {
		if code, body := f.systemToken(c, f.ecKey, "system/Patient.rs"); code != 200 {
			t.Fatalf("%d %v", code, body)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("%d fetches for two assertions, want 1 (cached)", n)
	}
	rotated := newRSAKey(t)
	keys.Store(publicJWKS(t, rotated))
	f.clock.Add(jwksRefetchAfter + time.Second)
	if code, body := f.systemToken(c, rotated, "system/Patient.rs"); code != 200 {
		t.Fatalf("after the client rotated its key: %d %v", code, body)
	}
	// jku naming the registered URL is accepted.
	now := f.clock.Now()
	a := assertion(t, rotated, jose.RS384, jwt.Claims{Issuer: c.ID, Subject: c.ID, Audience: jwt.Audience{f.srv.TokenURL()}, ID: "x1",
		Expiry: jwt.NewNumericDate(now.Add(time.Minute))}, map[jose.HeaderKey]any{"jku": c.JWKSURL})
	code, body, _ := f.post("/auth/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"system/Patient.rs"},
		"client_assertion_type": {AssertionType}, "client_assertion": {a}})
	if code != 200 {
		t.Fatalf("jku = registered URL: %d %v", code, body)
	}
}

func TestClientRegistrationRefusals(t *testing.T) {
	db := openSQLite(t)
	ec := newECKey(t)
	tests := []struct {
		name string
		nc   NewClient
		want string
	}{
		{"no credentials", NewClient{Name: "x", Scopes: []string{"system/*.rs"}}, "exactly one"},
		{"two credentials", NewClient{Name: "x", Public: true, JWKSURL: "https://a.example/j", Scopes: []string{"user/*.rs"}, RedirectURIs: []string{"https://a.example/cb"}}, "exactly one"},
		{"private key registered", NewClient{Name: "x", JWKS: mustJSON(t, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{ec}}), Scopes: []string{"system/*.rs"}}, "private key"},
		{"http JWKS URL off loopback", NewClient{Name: "x", JWKSURL: "http://example.com/jwks", Scopes: []string{"system/*.rs"}}, "https"},
		{"public without redirect", NewClient{Name: "x", Public: true, Scopes: []string{"user/*.rs"}}, "redirect"},
		{"public with system scope", NewClient{Name: "x", Public: true, RedirectURIs: []string{"https://a.example/cb"}, Scopes: []string{"system/*.rs"}}, "confidential"},
		{"bad scope", NewClient{Name: "x", JWKS: publicJWKS(t, ec), Scopes: []string{"system/Patient.rx"}}, "cruds"},
		{"redirect with fragment", NewClient{Name: "x", Public: true, RedirectURIs: []string{"https://a.example/cb#x"}, Scopes: []string{"user/*.rs"}}, "fragment"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := AddClient(context.Background(), db, tc.nc)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
