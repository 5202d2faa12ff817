package authn

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/nhs-junction/junction/internal/access"
)

// TestAuthorizationCode drives the browser flow over HTTP on both
// backends: EHR launch, standalone launches, and each refusal.
func TestAuthorizationCode(t *testing.T) {
	backends(t, func(t *testing.T, db DB) {
		f := newFixture(t, db)
		ctx := context.Background()

		t.Run("EHR launch with PKCE", func(t *testing.T) {
			launch, err := f.srv.NewLaunch(ctx, f.gp.ID, "p9", "e9")
			if err != nil {
				t.Fatal(err)
			}
			verifier := randomToken(40)
			p := f.authzParams(f.app, "launch openid fhirUser patient/Observation.rs user/Patient.rs offline_access system/Patient.rs", verifier)
			p.Set("launch", launch)
			p.Set("nonce", "n-1")
			loc := f.signIn(p, "gp", "")
			if loc.Query().Get("state") != p.Get("state") || loc.Query().Get("code") == "" || loc.Query().Get("iss") != f.srv.issuer {
				t.Fatalf("redirect %v: want code, the state echoed and iss", loc)
			}
			code, tok := f.exchange(f.app, loc.Query().Get("code"), verifier, nil)
			if code != 200 {
				t.Fatalf("%d %v", code, tok)
			}
			if tok["patient"] != "p9" || tok["encounter"] != "e9" || tok["refresh_token"] == nil || tok["id_token"] == nil {
				t.Fatalf("token response %v: want launch context, a refresh token and an id_token", tok)
			}
			if s := str(tok["scope"]); strings.Contains(s, "system/") || !strings.Contains(s, "patient/Observation.rs") {
				t.Errorf("scope %q: system/ must never reach a user, patient/Observation.rs must", s)
			}
			if tok["expires_in"].(float64) > 3600 {
				t.Errorf("user token lives %v s, more than an hour", tok["expires_in"])
			}
			caller, err := f.authenticate(str(tok["access_token"]))
			if err != nil {
				t.Fatal(err)
			}
			want := access.Caller{Kind: access.Practitioner, Subject: f.gp.ID, Name: "Dr Who", ClientID: f.app.ID, Organization: "A81001",
				Roles: []string{"R8000"}, Practitioner: "prac1", Patients: []string{"p9"}}
			if caller.Kind != want.Kind || caller.Subject != want.Subject || caller.Name != want.Name || caller.ClientID != want.ClientID ||
				caller.Organization != want.Organization || !slices.Equal(caller.Roles, want.Roles) || caller.Practitioner != want.Practitioner ||
				!slices.Equal(caller.Patients, want.Patients) || strings.Join(caller.Scopes, " ") != str(tok["scope"]) || caller.Address == "" {
				t.Errorf("caller %+v, want %+v", caller, want)
			}
			var id idClaims
			var reg jwt.Claims
			if err := f.srv.verifyOwn(ctx, str(tok["id_token"]), typID, f.app.ID, &id, &reg); err != nil {
				t.Fatal(err)
			}
			if id.FHIRUser != f.base+"/Practitioner/prac1" || id.Nonce != "n-1" || id.Subject != f.gp.ID {
				t.Errorf("id_token %+v", id)
			}
			// The code is single use; reuse revokes the refresh token.
			if code, body := f.exchange(f.app, loc.Query().Get("code"), verifier, nil); code != 400 || body["error"] != "invalid_grant" {
				t.Fatalf("code reuse: %d %v", code, body)
			}
			code, body, _ := f.post("/auth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {str(tok["refresh_token"])}, "client_id": {f.app.ID}})
			if code != 400 {
				t.Fatalf("refresh after code reuse: %d %v", code, body)
			}
		})

		t.Run("launch started by another user", func(t *testing.T) {
			launch, _ := f.srv.NewLaunch(ctx, f.gp.ID, "p9", "")
			p := f.authzParams(f.app, "launch patient/*.rs", randomToken(40))
			p.Set("launch", launch)
			loc := f.signIn(p, "pat", "")
			if loc.Query().Get("error") != "access_denied" || loc.Query().Get("state") != p.Get("state") {
				t.Fatalf("redirect %v", loc)
			}
		})

		t.Run("standalone practitioner launch with patient picker", func(t *testing.T) {
			verifier := randomToken(40)
			p := f.authzParams(f.app, "launch/patient patient/*.rs openid fhirUser", verifier)
			loc := f.signIn(p, "gp", "p42")
			code, tok := f.exchange(f.app, loc.Query().Get("code"), verifier, nil)
			if code != 200 || tok["patient"] != "p42" {
				t.Fatalf("%d %v", code, tok)
			}
			if tok["refresh_token"] != nil {
				t.Error("a refresh token without offline_access or online_access")
			}
		})

		t.Run("standalone patient launch", func(t *testing.T) {
			verifier := randomToken(40)
			p := f.authzParams(f.app, "launch/patient patient/*.rs openid fhirUser online_access", verifier)
			loc := f.signIn(p, "pat", "child1")
			code, tok := f.exchange(f.app, loc.Query().Get("code"), verifier, nil)
			if code != 200 || tok["patient"] != "child1" || tok["refresh_token"] == nil {
				t.Fatalf("%d %v", code, tok)
			}
			caller, err := f.authenticate(str(tok["access_token"]))
			if err != nil {
				t.Fatal(err)
			}
			if caller.Kind != access.PatientUser || !slices.Equal(caller.Patients, []string{"child1", "p1"}) {
				t.Errorf("caller %+v: want the patient kind, launch patient first", caller)
			}
		})

		t.Run("patient may not pick someone else", func(t *testing.T) {
			b := f.browser()
			p := f.authzParams(f.app, "launch/patient patient/*.rs", randomToken(40))
			login := f.do(b, http.MethodGet, "/auth/authorize", p)
			consent := f.do(b, http.MethodPost, "/auth/authorize", url.Values{"flow": {login.flow}, "action": {"login"}, "username": {"pat"}, "password": {testPassword}})
			again := f.do(b, http.MethodPost, "/auth/authorize", url.Values{"flow": {consent.flow}, "action": {"approve"}, "scope_grant": {"patient/*.rs"}, "patient": {"stranger"}})
			if again.status != 200 || !strings.Contains(again.body, "role=\"alert\"") || again.location != nil {
				t.Fatalf("%d %s", again.status, again.body)
			}
		})

		t.Run("consent narrows scopes", func(t *testing.T) {
			b := f.browser()
			verifier := randomToken(40)
			p := f.authzParams(f.app, "user/*.rs patient/*.cruds offline_access", verifier)
			login := f.do(b, http.MethodGet, "/auth/authorize", p)
			consent := f.do(b, http.MethodPost, "/auth/authorize", url.Values{"flow": {login.flow}, "action": {"login"}, "username": {"gp"}, "password": {testPassword}})
			done := f.do(b, http.MethodPost, "/auth/authorize", url.Values{"flow": {consent.flow}, "action": {"approve"}, "scope_grant": {"user/*.rs", "user/*.cruds"}})
			if done.location == nil {
				t.Fatalf("%d %s", done.status, done.body)
			}
			_, tok := f.exchange(f.app, done.location.Query().Get("code"), verifier, nil)
			if tok["scope"] != "user/*.rs" {
				t.Fatalf("scope %v: want only what was ticked and offered", tok["scope"])
			}
		})

		t.Run("deny", func(t *testing.T) {
			b := f.browser()
			p := f.authzParams(f.app, "user/*.rs", randomToken(40))
			login := f.do(b, http.MethodGet, "/auth/authorize", p)
			consent := f.do(b, http.MethodPost, "/auth/authorize", url.Values{"flow": {login.flow}, "action": {"login"}, "username": {"gp"}, "password": {testPassword}})
			done := f.do(b, http.MethodPost, "/auth/authorize", url.Values{"flow": {consent.flow}, "action": {"deny"}})
			if done.location == nil || done.location.Query().Get("error") != "access_denied" || done.location.Query().Get("state") != p.Get("state") {
				t.Fatalf("%d %v", done.status, done.location)
			}
		})

		t.Run("confidential client with private_key_jwt", func(t *testing.T) {
			verifier := randomToken(40)
			p := f.authzParams(f.conf, "user/*.rs openid fhirUser", verifier)
			loc := f.signIn(p, "gp", "")
			if code, body := f.exchange(f.conf, loc.Query().Get("code"), verifier, nil); code != 401 || body["error"] != "invalid_client" {
				t.Fatalf("confidential client without assertion: %d %v", code, body)
			}
			loc = f.signIn(p, "gp", "")
			code, tok := f.exchange(f.conf, loc.Query().Get("code"), verifier, &f.ecKey)
			if code != 200 || tok["scope"] != "user/Observation.rs user/Patient.r openid fhirUser" {
				t.Fatalf("%d %v: want user/*.rs narrowed to the registration", code, tok)
			}
		})

		t.Run("PKCE mismatch", func(t *testing.T) {
			p := f.authzParams(f.app, "user/*.rs", randomToken(40))
			loc := f.signIn(p, "gp", "")
			if code, body := f.exchange(f.app, loc.Query().Get("code"), randomToken(40), nil); code != 400 || body["error"] != "invalid_grant" {
				t.Fatalf("%d %v", code, body)
			}
		})

		t.Run("code for another client", func(t *testing.T) {
			verifier := randomToken(40)
			loc := f.signIn(f.authzParams(f.app, "user/*.rs", verifier), "gp", "")
			if code, body := f.exchange(f.conf, loc.Query().Get("code"), verifier, &f.ecKey); code != 400 || body["error"] != "invalid_grant" {
				t.Fatalf("%d %v", code, body)
			}
		})

		t.Run("expired code", func(t *testing.T) {
			verifier := randomToken(40)
			loc := f.signIn(f.authzParams(f.app, "user/*.rs", verifier), "gp", "")
			f.clock.Add(codeLifetime + time.Second)
			if code, body := f.exchange(f.app, loc.Query().Get("code"), verifier, nil); code != 400 || body["error"] != "invalid_grant" {
				t.Fatalf("%d %v", code, body)
			}
		})

		// Refusals before sign-in: those the client learns by redirect,
		// and those shown to the person because the redirect is not trusted.
		refusals := []struct {
			name     string
			mod      func(url.Values)
			redirect string // error code expected in the redirect, or "" for a page
		}{
			{"plain PKCE refused", func(p url.Values) { p.Set("code_challenge_method", "plain") }, "invalid_request"},
			{"no PKCE", func(p url.Values) { p.Del("code_challenge"); p.Del("code_challenge_method") }, "invalid_request"},
			{"malformed challenge", func(p url.Values) { p.Set("code_challenge", "short") }, "invalid_request"},
			{"wrong aud", func(p url.Values) { p.Set("aud", "https://elsewhere.example/fhir") }, "invalid_request"},
			{"no state", func(p url.Values) { p.Del("state") }, "invalid_request"},
			{"token response type", func(p url.Values) { p.Set("response_type", "token") }, "unsupported_response_type"},
			{"no registered scope", func(p url.Values) { p.Set("scope", "system/*.rs") }, "invalid_scope"},
			{"unknown launch", func(p url.Values) { p.Set("launch", "nope") }, "invalid_request"},
			{"unregistered redirect", func(p url.Values) { p.Set("redirect_uri", "https://evil.example/cb") }, ""},
			{"unknown client", func(p url.Values) { p.Set("client_id", "nobody") }, ""},
		}
		for _, tc := range refusals {
			t.Run(tc.name, func(t *testing.T) {
				p := f.authzParams(f.app, "user/*.rs", randomToken(40))
				tc.mod(p)
				got := f.do(f.browser(), http.MethodGet, "/auth/authorize", p)
				if tc.redirect == "" {
					if got.status != 400 || got.location != nil {
						t.Fatalf("%d %v: want an error page, no redirect", got.status, got.location)
					}
					return
				}
				if got.location == nil || got.location.Query().Get("error") != tc.redirect || got.location.Query().Get("state") != p.Get("state") {
					t.Fatalf("%d %v: want a redirect with error %s and the state", got.status, got.location, tc.redirect)
				}
			})
		}

		t.Run("authorize-post", func(t *testing.T) {
			p := f.authzParams(f.app, "user/*.rs", randomToken(40))
			got := f.do(f.browser(), http.MethodPost, "/auth/authorize", p)
			if got.status != 200 || got.flow == "" {
				t.Fatalf("%d %s", got.status, got.body)
			}
		})

		t.Run("CSRF: a form without the browser's cookie is refused", func(t *testing.T) {
			p := f.authzParams(f.app, "user/*.rs", randomToken(40))
			login := f.do(f.browser(), http.MethodGet, "/auth/authorize", p)
			other := f.do(f.browser(), http.MethodPost, "/auth/authorize", url.Values{"flow": {login.flow}, "action": {"login"}, "username": {"gp"}, "password": {testPassword}})
			if other.status != 400 || strings.Contains(other.body, "Allow access") {
				t.Fatalf("%d %s", other.status, other.body)
			}
		})

		t.Run("wrong password, then throttled", func(t *testing.T) {
			b := f.browser()
			login := f.do(b, http.MethodGet, "/auth/authorize", f.authzParams(f.app, "user/*.rs", randomToken(40)))
			for i := 0; i < loginMaxFailures; i++ {
				got := f.do(b, http.MethodPost, "/auth/authorize", url.Values{"flow": {login.flow}, "action": {"login"}, "username": {"pat"}, "password": {"wrong password!"}})
				if !strings.Contains(got.body, "not right") {
					t.Fatalf("attempt %d: %s", i, got.body)
				}
			}
			got := f.do(b, http.MethodPost, "/auth/authorize", url.Values{"flow": {login.flow}, "action": {"login"}, "username": {"pat"}, "password": {testPassword}})
			if !strings.Contains(got.body, "Too many") {
				t.Fatalf("not throttled: %s", got.body)
			}
			f.clock.Add(loginWindow + time.Second)
		})
	})
}

// TestRefresh covers rotation, replay of a rotated token, narrowing and
// widening of scope, and a disabled user.
func TestRefresh(t *testing.T) {
	backends(t, func(t *testing.T, db DB) {
		f := newFixture(t, db)
		verifier := randomToken(40)
		loc := f.signIn(f.authzParams(f.app, "user/*.rs patient/*.cruds launch/patient offline_access", verifier), "gp", "p7")
		_, tok := f.exchange(f.app, loc.Query().Get("code"), verifier, nil)
		refresh := func(rt string, extra ...string) (int, map[string]any) {
			form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {f.app.ID}}
			for i := 0; i+1 < len(extra); i += 2 {
				form.Set(extra[i], extra[i+1])
			}
			code, body, _ := f.post("/auth/token", form)
			return code, body
		}
		rt1 := str(tok["refresh_token"])
		code, tok2 := refresh(rt1, "scope", "patient/Observation.rs user/Patient.rs")
		if code != 200 || tok2["scope"] != "patient/Observation.rs user/Patient.rs" || tok2["patient"] != "p7" {
			t.Fatalf("narrowing refresh: %d %v", code, tok2)
		}
		rt2 := str(tok2["refresh_token"])
		if rt2 == "" || rt2 == rt1 {
			t.Fatal("the refresh token was not rotated")
		}
		// Asking for more than the grant gives at most the grant.
		code, tok3 := refresh(rt2, "scope", "user/*.cruds")
		if code != 200 || tok3["scope"] != "user/*.rs" {
			t.Fatalf("widening refresh: %d %v", code, tok3)
		}
		rt3 := str(tok3["refresh_token"])
		if code, body := refresh(rt3, "scope", "user/Observation.c"); code != 400 || body["error"] != "invalid_scope" {
			t.Fatalf("refresh for a scope outside the grant: %d %v", code, body)
		}
		// A refused refresh leaves the token usable, with the full grant.
		code, tok4 := refresh(rt3)
		if code != 200 || tok4["scope"] != tok["scope"] {
			t.Fatalf("refresh after a refused one: %d %v, want scope %v", code, tok4, tok["scope"])
		}
		// Replaying a rotated token revokes the whole grant.
		if code, body := refresh(rt1); code != 400 || body["error"] != "invalid_grant" {
			t.Fatalf("replay of a rotated token: %d %v", code, body)
		}
		if code, body := refresh(str(tok4["refresh_token"])); code != 400 || body["error"] != "invalid_grant" {
			t.Fatalf("the newest token of a revoked grant: %d %v", code, body)
		}
		// A fresh grant for the disabled-user case.
		loc = f.signIn(f.authzParams(f.app, "user/*.rs online_access", verifier), "pat", "")
		_, tok = f.exchange(f.app, loc.Query().Get("code"), verifier, nil)
		if tok["refresh_token"] == nil {
			t.Fatalf("%v", tok)
		}
		if err := DisableUser(context.Background(), f.db, "pat"); err != nil {
			t.Fatal(err)
		}
		if code, body := refresh(str(tok["refresh_token"])); code != 400 || body["error"] != "invalid_grant" {
			t.Fatalf("refresh for a disabled user: %d %v", code, body)
		}
		f.clock.Add(statusTTL + time.Second)
		if _, err := f.authenticate(str(tok["access_token"])); err == nil {
			t.Fatal("a disabled user's access token still authenticates")
		}
	})
}
