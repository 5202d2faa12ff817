package authn

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
)

// FuzzAuthenticate feeds arbitrary bearer tokens to the validator: it
// must never panic and never accept anything it did not sign.
func FuzzAuthenticate(f *testing.F) {
	fx := lightFixture(f)
	good, err := fx.srv.sign(context.Background(), typAccess, tokenClaims{Claims: jwt.Claims{Issuer: fx.srv.issuer, Subject: "s",
		Audience: jwt.Audience{fx.base}, Expiry: jwt.NewNumericDate(time.Now().Add(time.Hour))}, Kind: "system"})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{good, good[:len(good)-2], "a.b.c", "eyJhbGciOiJub25lIn0.e30.", "", strings.Repeat(".", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		c, _, err := fx.srv.validate(context.Background(), tok)
		if err == nil && tok != good {
			// Only re-encodings of the good token may pass.
			if c.Subject != "s" {
				t.Fatalf("accepted %q as %+v", tok, c)
			}
		}
		var te *TokenError
		if err != nil && !errors.As(err, &te) {
			t.Fatalf("untyped error %v", err)
		}
	})
}

// FuzzAssertion feeds arbitrary client assertions to the token endpoint's
// verifier: no panic, no acceptance, always an invalid_client error.
func FuzzAssertion(f *testing.F) {
	fx := lightFixture(f)
	fx.ecKey = newECKey(f)
	fx.sys = fx.addClient(NewClient{Name: "Backend", JWKS: publicJWKS(f, fx.ecKey), Scopes: []string{"system/*.rs"}})
	a, err := SignAssertion(fx.ecKey, fx.sys.ID, fx.srv.TokenURL(), fx.clock.Now())
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{a[:len(a)-3], a[:len(a)/2], "x.y.z", "eyJhbGciOiJFUzM4NCIsImtpZCI6IngifQ.e30.AA"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, err := fx.srv.verifyAssertion(context.Background(), s, []string{fx.srv.TokenURL()})
		var oe *oauthError
		if err == nil || !errors.As(err, &oe) || oe.Code != "invalid_client" {
			t.Fatalf("assertion %q: %v", s, err)
		}
	})
}

// FuzzParseScope: parsing never panics, and a parsed scope writes back
// to a string that parses to the same scope.
func FuzzParseScope(f *testing.F) {
	for _, s := range []string{"patient/*.rs", "user/Observation.cruds?category=laboratory", "system/Patient.read", "launch/patient", "user/*.*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sc, err := ParseScope(s)
		if err != nil {
			return
		}
		again, err := ParseScope(sc.String())
		if err != nil || again.String() != sc.String() || again.Perms != sc.Perms || again.Type != sc.Type {
			t.Fatalf("%q -> %q -> %v %v", s, sc.String(), again, err)
		}
		grantScopes(s, []string{s, "user/*.cruds"}, "patient", "user", "system")
	})
}

// FuzzClaimValues: claim paths never panic.
func FuzzClaimValues(f *testing.F) {
	f.Add("nhsid_nrbac_roles[person_roleid=$selected_roleid].role_code")
	f.Add("a[].b.c")
	f.Add("[")
	claims := map[string]any{"selected_roleid": "r1", "a": []any{map[string]any{"b": map[string]any{"c": "x"}}},
		"nhsid_nrbac_roles": []any{map[string]any{"person_roleid": "r1", "role_code": "S1:R8000"}, "junk"}}
	f.Fuzz(func(t *testing.T, path string) {
		claimValues(claims, path)
	})
}

// lightFixture is a server without users or clients: fuzz workers each
// build one, and argon2 hashing would dominate a short fuzz run.
func lightFixture(tb testing.TB) *fixture {
	f := &fixture{t: tb, db: openSQLite(tb), clock: &clock{t: time.Now()}, base: "https://junction.example/fhir"}
	srv, err := New(context.Background(), f.db, Options{FHIRBase: f.base, Now: f.clock.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		tb.Fatal(err)
	}
	f.srv = srv
	return f
}

// BenchmarkAuthenticate measures validating a system token, the cost
// every FHIR request pays.
func BenchmarkAuthenticate(b *testing.B) {
	fx := lightFixture(b)
	c := fx.addClient(NewClient{Name: "Backend", JWKS: publicJWKS(b, newECKey(b)), Scopes: []string{"system/*.rs"}})
	tok, err := fx.srv.sign(context.Background(), typAccess, tokenClaims{Claims: jwt.Claims{Issuer: fx.srv.issuer, Subject: c.ID,
		Audience: jwt.Audience{fx.base}, Expiry: jwt.NewNumericDate(time.Now().Add(time.Hour))}, ClientID: c.ID, Kind: "system", Scope: "system/*.rs"})
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, fx.base+"/Patient", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	fx.srv.Authenticate(r) // warm the status cache
	b.ReportAllocs()
	for b.Loop() {
		if _, err := fx.srv.Authenticate(r); err != nil {
			b.Fatal(err)
		}
	}
}
