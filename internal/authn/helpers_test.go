package authn

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/nhs-junction/junction/internal/access"
	"github.com/nhs-junction/junction/internal/store/postgres"
	"github.com/nhs-junction/junction/internal/store/sqlite"
	"github.com/nhs-junction/junction/internal/testenv"
)

// backends runs fn once per storage backend: SQLite always, PostgreSQL
// when JUNCTION_TEST_POSTGRES is set (each in a fresh schema).
func backends(t *testing.T, fn func(t *testing.T, db DB)) {
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlite.Open(context.Background(), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		fn(t, st)
	})
	t.Run("postgres", func(t *testing.T) {
		u := testenv.PostgresURL(t)
		if u == "" {
			t.Skip(testenv.PostgresEnv + " is not set")
		}
		st, err := postgres.Open(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		fn(t, st)
	})
}

// openSQLite returns a fresh SQLite store, for tests whose subject is
// not storage.
func openSQLite(t testing.TB) DB {
	st, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fixture is a running authorisation server with a few users and clients.
type fixture struct {
	t     testing.TB
	db    DB
	srv   *Server
	http  *httptest.Server
	clock *clock
	// handler serves http; tests may replace it.
	handler atomic.Value
	base    string // FHIR base
	app     Client // public client
	conf    Client // confidential client with an inline ES384 key, for authorization_code
	sys     Client // backend services client, inline ES384 key
	sysRSA  Client // backend services client, inline RS384 key
	ecKey   jose.JSONWebKey
	rsaKey  jose.JSONWebKey
	gp      User
	pat     User
}

const (
	testPassword = "correct horse battery staple"
	redirectURI  = "http://127.0.0.1:9/callback"
)

func newFixture(t testing.TB, db DB) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{t: t, db: db, clock: &clock{t: time.Now().Truncate(time.Second)}}
	// The server's URLs must be known before it starts: listen first.
	f.http = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.handler.Load().(http.Handler).ServeHTTP(w, r)
	}))
	t.Cleanup(f.http.Close)
	f.base = f.http.URL + "/fhir"
	srv, err := New(ctx, db, Options{FHIRBase: f.base, Now: f.clock.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		LookupPatient: func(ctx context.Context, id string) (string, error) {
			if strings.HasPrefix(id, "missing") {
				return "", ErrNotFound
			}
			return "Patient " + id, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = srv
	f.handler.Store(srv.Handler())
	f.ecKey, f.rsaKey = newECKey(t), newRSAKey(t)
	f.app = f.addClient(NewClient{Name: "App", Public: true, RedirectURIs: []string{redirectURI},
		Scopes: strings.Fields("launch launch/patient launch/encounter openid fhirUser offline_access online_access patient/*.cruds user/*.rs")})
	f.conf = f.addClient(NewClient{Name: "Confidential app", JWKS: publicJWKS(t, f.ecKey), RedirectURIs: []string{redirectURI},
		Scopes: strings.Fields("launch openid fhirUser user/Observation.rs user/Patient.r")})
	f.sys = f.addClient(NewClient{Name: "Backend", Kind: access.System, JWKS: publicJWKS(t, f.ecKey), ODS: "RX1",
		Scopes: strings.Fields("system/Patient.rs system/Observation.cruds")})
	f.sysRSA = f.addClient(NewClient{Name: "Backend RSA", JWKS: publicJWKS(t, f.rsaKey), Scopes: []string{"system/*.read"}})
	f.gp = f.addUser(NewUser{Kind: access.Practitioner, Username: "gp", Password: testPassword, Name: "Dr Who", ODS: "A81001", Roles: []string{"R8000"}, Practitioner: "prac1"})
	f.pat = f.addUser(NewUser{Kind: access.PatientUser, Username: "pat", Password: testPassword, Name: "Pat Ient", Patients: []string{"p1", "child1"}})
	return f
}

func (f *fixture) addClient(nc NewClient) Client {
	f.t.Helper()
	c, err := AddClient(context.Background(), f.db, nc)
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func (f *fixture) addUser(nu NewUser) User {
	f.t.Helper()
	u, err := AddUser(context.Background(), f.db, nu)
	if err != nil {
		f.t.Fatal(err)
	}
	return u
}

func newECKey(t testing.TB) jose.JSONWebKey {
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return jose.JSONWebKey{Key: k, KeyID: "ec-" + randomToken(6), Algorithm: "ES384", Use: "sig"}
}

func newRSAKey(t testing.TB) jose.JSONWebKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return jose.JSONWebKey{Key: k, KeyID: "rsa-" + randomToken(6), Algorithm: "RS384", Use: "sig"}
}

func publicJWKS(t testing.TB, keys ...jose.JSONWebKey) []byte {
	set := jose.JSONWebKeySet{}
	for _, k := range keys {
		set.Keys = append(set.Keys, k.Public())
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// post sends a form to path on the fixture's server and decodes the JSON answer.
func (f *fixture) post(path string, form url.Values, header ...string) (int, map[string]any, http.Header) {
	f.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.http.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	body, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(body, &out); err != nil {
		f.t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
	}
	return resp.StatusCode, out, resp.Header
}

// systemToken runs client_credentials for client c with key.
func (f *fixture) systemToken(c Client, key jose.JSONWebKey, scope string) (int, map[string]any) {
	f.t.Helper()
	a, err := SignAssertion(key, c.ID, f.srv.TokenURL(), f.clock.Now())
	if err != nil {
		f.t.Fatal(err)
	}
	code, body, _ := f.post("/auth/token", url.Values{"grant_type": {"client_credentials"}, "scope": {scope},
		"client_assertion_type": {AssertionType}, "client_assertion": {a}})
	return code, body
}

// authenticate validates tok as a FHIR request's bearer token.
func (f *fixture) authenticate(tok string) (*access.Caller, error) {
	r := httptest.NewRequest(http.MethodGet, f.base+"/Patient", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	return f.srv.Authenticate(r)
}

// browser is a cookie-keeping client that does not follow redirects.
func (f *fixture) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// authzParams are the parameters of a valid authorisation request for
// client c; change them per test.
func (f *fixture) authzParams(c Client, scope, verifier string) url.Values {
	return url.Values{"response_type": {"code"}, "client_id": {c.ID}, "redirect_uri": {redirectURI}, "scope": {scope},
		"state": {"st-" + randomToken(6)}, "aud": {f.base}, "code_challenge": {s256(verifier)}, "code_challenge_method": {"S256"}}
}

// page is a fetched HTML page and the hidden flow token in it.
type htmlPage struct {
	status   int
	body     string
	flow     string
	location *url.URL
}

func (f *fixture) do(b *http.Client, method, path string, form url.Values) htmlPage {
	f.t.Helper()
	var req *http.Request
	if method == http.MethodGet {
		req, _ = http.NewRequest(method, f.http.URL+path+"?"+form.Encode(), nil)
	} else {
		req, _ = http.NewRequest(method, f.http.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	p := htmlPage{status: resp.StatusCode, body: string(body)}
	if loc := resp.Header.Get("Location"); loc != "" {
		p.location, _ = url.Parse(loc)
	}
	if i := strings.Index(p.body, `name="flow" value="`); i >= 0 {
		rest := p.body[i+len(`name="flow" value="`):]
		p.flow = rest[:strings.Index(rest, `"`)]
	}
	return p
}

// signIn runs the authorisation request, the sign-in and the consent,
// approving every offered scope (and patient, when given), and returns
// the final redirect.
func (f *fixture) signIn(params url.Values, username, patient string) *url.URL {
	f.t.Helper()
	b := f.browser()
	login := f.do(b, http.MethodGet, "/auth/authorize", params)
	if login.status != http.StatusOK || login.flow == "" {
		f.t.Fatalf("authorize: %d %s %v", login.status, login.body, login.location)
	}
	consent := f.do(b, http.MethodPost, "/auth/authorize", url.Values{"flow": {login.flow}, "action": {"login"}, "username": {username}, "password": {testPassword}})
	if consent.status != http.StatusOK || !strings.Contains(consent.body, "Allow access") {
		if consent.location != nil {
			return consent.location
		}
		f.t.Fatalf("login: %d %s", consent.status, consent.body)
	}
	form := url.Values{"flow": {consent.flow}, "action": {"approve"}}
	for _, m := range strings.Split(consent.body, `name="scope_grant" value="`)[1:] {
		form.Add("scope_grant", m[:strings.Index(m, `"`)])
	}
	if patient != "" {
		form.Set("patient", patient)
	}
	done := f.do(b, http.MethodPost, "/auth/authorize", form)
	if done.status != http.StatusSeeOther || done.location == nil {
		f.t.Fatalf("approve: %d %s", done.status, done.body)
	}
	return done.location
}

// exchange redeems a code for client c (public unless key is given).
func (f *fixture) exchange(c Client, code, verifier string, key *jose.JSONWebKey) (int, map[string]any) {
	f.t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier}, "redirect_uri": {redirectURI}, "client_id": {c.ID}}
	if key != nil {
		a, err := SignAssertion(*key, c.ID, f.srv.TokenURL(), f.clock.Now())
		if err != nil {
			f.t.Fatal(err)
		}
		form.Set("client_assertion_type", AssertionType)
		form.Set("client_assertion", a)
	}
	status, body, _ := f.post("/auth/token", form)
	return status, body
}

func str(v any) string { s, _ := v.(string); return s }
