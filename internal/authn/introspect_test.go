package authn

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

func TestIntrospection(t *testing.T) {
	backends(t, func(t *testing.T, db DB) {
		f := newFixture(t, db)
		_, sys := f.systemToken(f.sys, f.ecKey, "system/Patient.rs")
		sysTok := str(sys["access_token"])
		verifier := randomToken(40)
		loc := f.signIn(f.authzParams(f.app, "launch/patient patient/*.rs offline_access", verifier), "pat", "p1")
		_, user := f.exchange(f.app, loc.Query().Get("code"), verifier, nil)
		userTok := str(user["access_token"])
		introspect := func(tok string, auth ...string) (int, map[string]any) {
			code, body, _ := f.post("/auth/introspect", url.Values{"token": {tok}}, auth...)
			return code, body
		}
		bySystem := []string{"Authorization", "Bearer " + sysTok}

		code, body := introspect(userTok, bySystem...)
		if code != 200 || body["active"] != true || body["patient"] != "p1" || body["client_id"] != f.app.ID || body["sub"] != f.pat.ID || body["scope"] != user["scope"] {
			t.Fatalf("active user token: %d %v", code, body)
		}
		if code, body := introspect(str(user["refresh_token"]), bySystem...); code != 200 || body["active"] != true || body["token_type"] != "refresh_token" {
			t.Fatalf("refresh token: %d %v", code, body)
		}
		if code, body := introspect("garbage", bySystem...); code != 200 || body["active"] != false || len(body) != 1 {
			t.Fatalf("garbage: %d %v", code, body)
		}
		// A confidential client authenticating with an assertion.
		a, _ := SignAssertion(f.rsaKey, f.sysRSA.ID, f.srv.introspectURL(), f.clock.Now())
		code, body, _ = f.post("/auth/introspect", url.Values{"token": {sysTok}, "client_assertion_type": {AssertionType}, "client_assertion": {a}})
		if code != 200 || body["active"] != true || body["client_id"] != f.sys.ID {
			t.Fatalf("by assertion: %d %v", code, body)
		}
		// Refused callers: nobody, a user's token, a public client.
		if code, body := introspect(userTok); code != 401 {
			t.Fatalf("anonymous: %d %v", code, body)
		}
		if code, body := introspect(sysTok, "Authorization", "Bearer "+userTok); code != 401 {
			t.Fatalf("with a user token: %d %v", code, body)
		}
		if code, body, _ := f.post("/auth/introspect", url.Values{"token": {sysTok}, "client_id": {f.app.ID}}); code != 401 {
			t.Fatalf("public client: %d %v", code, body)
		}
		// Expired tokens are inactive.
		f.clock.Add(MaxUserTokenLifetime + time.Minute)
		_, fresh := f.systemToken(f.sys, f.ecKey, "system/Patient.rs")
		if code, body := introspect(userTok, "Authorization", "Bearer "+str(fresh["access_token"])); code != 200 || body["active"] != false {
			t.Fatalf("expired: %d %v", code, body)
		}
	})
}

// TestKeyRotation: after a rotation new tokens carry the new kid, tokens
// signed by the old key still validate, and the JWKS lists both; once
// the old key's retention has passed it is gone.
func TestKeyRotation(t *testing.T) {
	f := newFixture(t, openSQLite(t))
	ctx := context.Background()
	_, before := f.systemToken(f.sys, f.ecKey, "system/Patient.rs")
	old, _ := f.srv.keys.active()
	newKid, err := rotateKey(ctx, f.db, f.clock.Now(), 0)
	if err != nil {
		t.Fatal(err)
	}
	// The server learns of a key another process rotated in within
	// keyRefreshEvery.
	f.clock.Add(keyRefreshEvery)
	_, after := f.systemToken(f.sys, f.ecKey, "system/Patient.rs")
	tok, _ := jwt.ParseSigned(str(after["access_token"]), tokenAlgs)
	if tok.Headers[0].KeyID != newKid || newKid == old.kid {
		t.Fatalf("new token kid %s, want the new key %s", tok.Headers[0].KeyID, newKid)
	}
	for name, b := range map[string]map[string]any{"old": before, "new": after} {
		if _, err := f.authenticate(str(b["access_token"])); err != nil {
			t.Errorf("%s token: %v", name, err)
		}
	}
	resp, err := http.Get(f.http.URL + "/auth/jwks")
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []struct{ Kid, Alg, Kty string }
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	json.Unmarshal(b, &set)
	kids := map[string]bool{}
	for _, k := range set.Keys {
		kids[k.Kid] = k.Alg == "RS256" && k.Kty == "RSA"
	}
	if len(set.Keys) != 2 || !kids[old.kid] || !kids[newKid] {
		t.Fatalf("JWKS %s: want the old and the new key", b)
	}
	f.clock.Add(keyRetention + time.Second)
	f.srv.keys.load(ctx)
	if got := f.srv.keys.jwks(); len(got.Keys) != 1 || got.Keys[0].KeyID != newKid {
		t.Fatalf("after retention the JWKS has %d keys", len(got.Keys))
	}
	// Automatic rotation: a key older than KeyRotation is replaced when signing.
	f.srv.keys.rotateEvery = time.Hour
	f.clock.Add(2 * time.Hour)
	if _, body := f.systemToken(f.sys, f.ecKey, "system/Patient.rs"); body["access_token"] == nil {
		t.Fatal(body)
	} else if tok, _ := jwt.ParseSigned(str(body["access_token"]), tokenAlgs); tok.Headers[0].KeyID == newKid {
		t.Fatal("the key was not rotated automatically")
	}
}

// TestAuthenticateRefusals: each way a bearer token can be wrong.
func TestAuthenticateRefusals(t *testing.T) {
	f := newFixture(t, openSQLite(t))
	ctx := context.Background()
	now := f.clock.Now()
	good := tokenClaims{Claims: jwt.Claims{Issuer: f.srv.issuer, Subject: f.sys.ID, Audience: jwt.Audience{f.base},
		Expiry: jwt.NewNumericDate(now.Add(time.Minute)), IssuedAt: jwt.NewNumericDate(now)}, ClientID: f.sys.ID, Kind: "system", Scope: "system/Patient.rs"}
	sign := func(typ string, mod func(*tokenClaims)) string {
		c := good
		if mod != nil {
			mod(&c)
		}
		s, err := f.srv.sign(ctx, typ, c)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if _, err := f.authenticate(sign(typAccess, nil)); err != nil {
		t.Fatalf("the good token: %v", err)
	}
	foreign := newRSAKey(t)
	tests := map[string]string{
		"wrong audience": sign(typAccess, func(c *tokenClaims) { c.Audience = jwt.Audience{"https://other.example/fhir"} }),
		"wrong issuer":   sign(typAccess, func(c *tokenClaims) { c.Issuer = "https://other.example" }),
		"expired":        sign(typAccess, func(c *tokenClaims) { c.Expiry = jwt.NewNumericDate(now.Add(-time.Hour)) }),
		"not yet valid":  sign(typAccess, func(c *tokenClaims) { c.NotBefore = jwt.NewNumericDate(now.Add(time.Hour)) }),
		"no expiry":      sign(typAccess, func(c *tokenClaims) { c.Expiry = nil }),
		"an id_token":    sign(typID, nil),
		"a flow token":   sign(typFlow, nil),
		"development":    sign(typAccess, func(c *tokenClaims) { c.Kind = "development" }),
		"foreign key":    assertion(t, foreign, "RS256", good, map[jose.HeaderKey]any{"typ": "at+jwt"}),
		"tampered":       sign(typAccess, nil) + "x",
		"HS256":          "eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl",
		"alg none":       "eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0.eyJzdWIiOiJ4In0.",
		"not a JWT":      "abc",
	}
	for name, tok := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := f.authenticate(tok)
			var te *TokenError
			if !errors.As(err, &te) || te.Code != "invalid_token" || te.Status() != 401 {
				t.Fatalf("err %v, want invalid_token", err)
			}
			if ch := Challenge("junction", err); ch == "" || ch[:7] != "Bearer " {
				t.Errorf("challenge %q", ch)
			}
		})
	}
	t.Run("no token", func(t *testing.T) {
		r, _ := http.NewRequest(http.MethodGet, f.base+"/Patient", nil)
		_, err := f.srv.Authenticate(r)
		if !errors.Is(err, ErrNoToken) || Challenge("junction", err) != `Bearer realm="junction"` {
			t.Fatalf("%v %q", err, Challenge("junction", err))
		}
	})
	t.Run("basic scheme", func(t *testing.T) {
		r, _ := http.NewRequest(http.MethodGet, f.base+"/Patient", nil)
		r.Header.Set("Authorization", "Basic Zm9vOmJhcg==")
		_, err := f.srv.Authenticate(r)
		var te *TokenError
		if !errors.As(err, &te) || te.Code != "invalid_request" || te.Status() != 400 {
			t.Fatalf("%v", err)
		}
	})
}
