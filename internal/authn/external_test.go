package authn

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/nhs-junction/junction/internal/access"
)

// TestExternalIssuers trusts two locally generated OpenID Connect
// issuers shaped like NHS CIS2 (staff) and NHS login (patients).
func TestExternalIssuers(t *testing.T) {
	staffKey, patientKey := newRSAKey(t), newECKey(t)
	staffKey.Algorithm, patientKey.Algorithm = "RS256", "ES384"
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/cis2/jwks":
			w.Write(publicJWKS(t, staffKey))
		case "/nhslogin/jwks":
			w.Write(publicJWKS(t, patientKey))
		default:
			http.NotFound(w, r)
		}
	}))
	defer idp.Close()
	config := `{"issuers": [
	  {"name": "CIS2", "issuer": "` + idp.URL + `/cis2", "jwks_uri": "` + idp.URL + `/cis2/jwks", "audience": "junction-staff",
	   "kind": "practitioner", "scopes": ["user/*.cruds"],
	   "claims": {"roles": "nhsid_nrbac_roles[person_roleid=$selected_roleid].role_code",
	              "organization": "nhsid_nrbac_roles[person_roleid=$selected_roleid].org_code", "practitioner": "practitioner_id"}},
	  {"name": "NHS login", "issuer": "` + idp.URL + `/nhslogin", "jwks_uri": "` + idp.URL + `/nhslogin/jwks", "audience": "junction-patients",
	   "kind": "patient", "scopes": ["patient/*.rs"], "claims": {"nhs_number": "nhs_number", "name": "given_name"}}
	]}`
	path := filepath.Join(t.TempDir(), "issuers.json")
	os.WriteFile(path, []byte(config), 0o600)
	issuers, err := LoadExternalIssuers(path)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(context.Background(), openSQLite(t), Options{FHIRBase: "https://junction.example/fhir", External: issuers,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		PatientByNHSNumber: func(ctx context.Context, nhs string) (string, error) {
			if nhs == "9434765919" {
				return "pat-9434765919", nil
			}
			return "", ErrNotFound
		}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	sign := func(key jose.JSONWebKey, claims map[string]any) string {
		base := map[string]any{"iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}
		for k, v := range claims {
			base[k] = v
		}
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(key.Algorithm), Key: key.Key},
			(&jose.SignerOptions{}).WithHeader("kid", key.KeyID))
		if err != nil {
			t.Fatal(err)
		}
		s, err := jwt.Signed(signer).Claims(base).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	auth := func(tok string) (*access.Caller, error) {
		r := httptest.NewRequest(http.MethodGet, "https://junction.example/fhir/Patient", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		return srv.Authenticate(r)
	}
	staff := map[string]any{"iss": idp.URL + "/cis2", "aud": "junction-staff", "sub": "555000111222", "name": "Nurse Jones", "azp": "ehr-app",
		"selected_roleid": "role2", "practitioner_id": "prac-77",
		"nhsid_nrbac_roles": []any{
			map[string]any{"person_roleid": "role1", "org_code": "RAL", "role_code": "S8000:G8000:R8001"},
			map[string]any{"person_roleid": "role2", "org_code": "RRK", "role_code": "S8000:G8000:R8000"},
		}}
	c, err := auth(sign(staffKey, staff))
	if err != nil {
		t.Fatal(err)
	}
	if c.Kind != access.Practitioner || c.Subject != "555000111222" || c.Name != "Nurse Jones" || c.ClientID != "ehr-app" ||
		c.Organization != "RRK" || !slices.Equal(c.Roles, []string{"R8000"}) || c.Practitioner != "prac-77" || !slices.Equal(c.Scopes, []string{"user/*.cruds"}) {
		t.Errorf("staff caller %+v: want the selected role only", c)
	}
	c, err = auth(sign(patientKey, map[string]any{"iss": idp.URL + "/nhslogin", "aud": "junction-patients", "sub": "nhs-login-1", "given_name": "Ann", "nhs_number": "9434765919"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Kind != access.PatientUser || !slices.Equal(c.Patients, []string{"pat-9434765919"}) || c.Name != "Ann" {
		t.Errorf("patient caller %+v", c)
	}
	refused := map[string]string{
		"wrong audience":      sign(staffKey, merge(staff, map[string]any{"aud": "someone-else"})),
		"expired":             sign(staffKey, merge(staff, map[string]any{"exp": now.Add(-time.Hour).Unix()})),
		"signed by the other": sign(patientKey, staff),
		"unknown issuer":      sign(staffKey, merge(staff, map[string]any{"iss": "https://evil.example"})),
		"unknown NHS number":  sign(patientKey, map[string]any{"iss": idp.URL + "/nhslogin", "aud": "junction-patients", "sub": "x", "nhs_number": "9999999999"}),
		"no NHS number":       sign(patientKey, map[string]any{"iss": idp.URL + "/nhslogin", "aud": "junction-patients", "sub": "x"}),
		"no subject":          sign(staffKey, merge(staff, map[string]any{"sub": ""})),
	}
	for name, tok := range refused {
		t.Run(name, func(t *testing.T) {
			_, err := auth(tok)
			var te *TokenError
			if !errors.As(err, &te) || te.Code != "invalid_token" {
				t.Fatalf("err %v, want invalid_token", err)
			}
		})
	}
}

func merge(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func TestExternalConfigRefusals(t *testing.T) {
	good := ExternalIssuer{Issuer: "https://idp.example", JWKSURL: "https://idp.example/jwks", Audience: "a", Kind: access.Practitioner, Scopes: []string{"user/*.rs"}}
	tests := map[string]func(*ExternalIssuer){
		"no audience":            func(e *ExternalIssuer) { e.Audience = "" },
		"http JWKS":              func(e *ExternalIssuer) { e.JWKSURL = "http://idp.example/jwks" },
		"system kind":            func(e *ExternalIssuer) { e.Kind = access.System },
		"patient without NHS no": func(e *ExternalIssuer) { e.Kind = access.PatientUser },
		"bad scope":              func(e *ExternalIssuer) { e.Scopes = []string{"user/*.x"} },
		"bad path":               func(e *ExternalIssuer) { e.Claims.Roles = "a[b" },
	}
	if _, err := indexExternal([]ExternalIssuer{good}, true); err != nil {
		t.Fatal(err)
	}
	for name, mod := range tests {
		t.Run(name, func(t *testing.T) {
			e := good
			mod(&e)
			if _, err := indexExternal([]ExternalIssuer{e}, true); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	if _, err := indexExternal([]ExternalIssuer{good, good}, true); err == nil {
		t.Fatal("an issuer listed twice was accepted")
	}
}
