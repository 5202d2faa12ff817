package authn

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/nhs-junction/junction/internal/access"
)

// TestEndToEnd runs the flows a SMART app and an EHR go through, over
// real HTTP, against the handler mounted beside a stand-in FHIR endpoint
// that authenticates every request, as the server wires it: discovery,
// an EHR launch created with a clinician's token and completed with
// PKCE, a standalone patient launch, refresh, introspection, and the 401
// a request without a valid token gets.
func TestEndToEnd(t *testing.T) {
	backends(t, func(t *testing.T, db DB) {
		f := newFixture(t, db)
		// Re-mount: the auth handler plus a FHIR endpoint echoing the caller.
		mux := http.NewServeMux()
		mux.Handle("/auth/", f.srv.Handler())
		mux.Handle("/.well-known/", f.srv.Handler())
		mux.Handle("/fhir/.well-known/", f.srv.Handler())
		mux.HandleFunc("/fhir/", func(w http.ResponseWriter, r *http.Request) {
			c, err := f.srv.Authenticate(r)
			if err != nil {
				var te *TokenError
				if !errors.As(err, &te) && !errors.Is(err, ErrNoToken) {
					http.Error(w, "server error", 500)
					return
				}
				w.Header().Set("WWW-Authenticate", f.srv.Challenge(err))
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			json.NewEncoder(w).Encode(c)
		})
		f.handler.Store(http.Handler(mux))

		get := func(path, token string) (int, http.Header, []byte) {
			req, _ := http.NewRequest(http.MethodGet, f.http.URL+path, nil)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, resp.Header, b
		}
		code, _, b := get("/fhir/.well-known/smart-configuration", "")
		var conf map[string]any
		if code != 200 || json.Unmarshal(b, &conf) != nil || conf["token_endpoint"] != f.srv.TokenURL() {
			t.Fatalf("discovery: %d %s", code, b)
		}
		if code, h, _ := get("/fhir/Patient", ""); code != 401 || h.Get("WWW-Authenticate") != `Bearer realm="junction"` {
			t.Fatalf("no token: %d %v", code, h)
		}
		if code, h, _ := get("/fhir/Patient", "bogus"); code != 401 || !strings.Contains(h.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Fatalf("bad token: %d %v", code, h)
		}

		// The clinician signs in to the EHR front end (itself a SMART app).
		v0 := randomToken(40)
		loc := f.signIn(f.authzParams(f.app, "openid fhirUser user/*.rs", v0), "gp", "")
		_, ehr := f.exchange(f.app, loc.Query().Get("code"), v0, nil)
		ehrToken := str(ehr["access_token"])
		if code, _, b := get("/fhir/Patient", ehrToken); code != 200 || !strings.Contains(string(b), `"Kind":"practitioner"`) {
			t.Fatalf("clinician request: %d %s", code, b)
		}
		// The EHR creates a launch for patient p5 and encounter e5.
		code, body, _ := f.post("/auth/launch", url.Values{"patient": {"p5"}, "encounter": {"e5"}}, "Authorization", "Bearer "+ehrToken)
		if code != 200 || str(body["launch"]) == "" {
			t.Fatalf("launch: %d %v", code, body)
		}
		// The launched app authorises with launch and PKCE.
		v1 := randomToken(40)
		p := f.authzParams(f.app, "launch openid fhirUser patient/*.rs online_access", v1)
		p.Set("launch", str(body["launch"]))
		loc = f.signIn(p, "gp", "")
		code, app := f.exchange(f.app, loc.Query().Get("code"), v1, nil)
		if code != 200 || app["patient"] != "p5" || app["encounter"] != "e5" {
			t.Fatalf("EHR launch: %d %v", code, app)
		}
		code, _, b = get("/fhir/Observation", str(app["access_token"]))
		var caller access.Caller
		if code != 200 || json.Unmarshal(b, &caller) != nil || len(caller.Patients) != 1 || caller.Patients[0] != "p5" {
			t.Fatalf("launched app request: %d %s", code, b)
		}
		// Refresh.
		code, refreshed, _ := f.post("/auth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {str(app["refresh_token"])}, "client_id": {f.app.ID}})
		if code != 200 || refreshed["patient"] != "p5" || str(refreshed["access_token"]) == "" {
			t.Fatalf("refresh: %d %v", code, refreshed)
		}
		// A patient cannot create launches.
		v2 := randomToken(40)
		loc = f.signIn(f.authzParams(f.app, "launch/patient patient/*.rs openid fhirUser", v2), "pat", "p1")
		code, patTok := f.exchange(f.app, loc.Query().Get("code"), v2, nil)
		if code != 200 || patTok["patient"] != "p1" {
			t.Fatalf("standalone patient launch: %d %v", code, patTok)
		}
		if code, body, _ := f.post("/auth/launch", url.Values{"patient": {"p5"}}, "Authorization", "Bearer "+str(patTok["access_token"])); code != 403 {
			t.Fatalf("patient creating a launch: %d %v", code, body)
		}
		// Introspection by a backend client.
		_, sys := f.systemToken(f.sys, f.ecKey, "system/Patient.rs")
		code, intro, _ := f.post("/auth/introspect", url.Values{"token": {str(refreshed["access_token"])}}, "Authorization", "Bearer "+str(sys["access_token"]))
		if code != 200 || intro["active"] != true || intro["patient"] != "p5" || intro["encounter"] != "e5" {
			t.Fatalf("introspection: %d %v", code, intro)
		}
	})
}

// ExampleServer_Authenticate shows the wiring: mount Handler for the
// authorisation endpoints, and authenticate every FHIR request.
func ExampleServer_Authenticate() {
	var db DB // the backend store, e.g. *sqlite.Store
	if db == nil {
		return
	}
	srv, err := New(context.Background(), db, Options{FHIRBase: "https://junction.example/fhir", Logger: slog.Default()})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", srv.Handler())
	mux.Handle("/.well-known/", srv.Handler())
	mux.Handle("/fhir/.well-known/", srv.Handler())
	mux.HandleFunc("/fhir/", func(w http.ResponseWriter, r *http.Request) {
		caller, err := srv.Authenticate(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", srv.Challenge(err))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		r = r.WithContext(access.WithCaller(r.Context(), caller))
		// ... the FHIR handler
	})
	// Output:
}

// TestDemo: the demo accounts sign in, and the demo backend client's key
// file obtains a system token.
func TestDemo(t *testing.T) {
	f := newFixture(t, openSQLite(t))
	keyFile := t.TempDir() + "/demo.jwk"
	info, err := f.srv.Demo(context.Background(), DemoOptions{Patient: "p1", Practitioner: "prac1", KeyFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Users) != 4 || info.AppClientID == "" || info.BackendClientID == "" ||
		!strings.Contains(info.Instructions, "junction auth assertion --client-id "+info.BackendClientID) ||
		!strings.Contains(info.Instructions, "code_challenge_method=S256") {
		t.Fatalf("%+v", info)
	}
	b, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	var key jose.JSONWebKey
	if err := json.Unmarshal(b, &key); err != nil {
		t.Fatal(err)
	}
	if code, body := f.systemToken(Client{ID: info.BackendClientID}, key, "system/Patient.rs"); code != 200 {
		t.Fatalf("%d %v", code, body)
	}
	// A second run keeps the clients and changes the passwords.
	again, err := f.srv.Demo(context.Background(), DemoOptions{Patient: "p1", KeyFile: keyFile})
	if err != nil || again.AppClientID != info.AppClientID || again.BackendClientID != info.BackendClientID || again.Users[0].Password == info.Users[0].Password {
		t.Fatalf("second run: %v %+v", err, again)
	}
	u, hash, err := lookupUser(context.Background(), f.db, "username", "demo-clinician")
	if ok, _ := verifyPassword(hash, again.Users[0].Password); err != nil || !ok || u.Practitioner != "prac1" {
		t.Fatalf("demo-clinician password does not verify: %v", err)
	}
}
