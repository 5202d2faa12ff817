package authn

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/nhs-junction/junction/internal/access"
)

func TestParseScope(t *testing.T) {
	tests := []struct {
		in   string
		want string // String() of the parsed scope, or "" for an error
	}{
		{"patient/Observation.rs", "patient/Observation.rs"},
		{"user/*.cruds", "user/*.cruds"},
		{"system/Patient.read", "system/Patient.read"},
		{"user/*.*", "user/*.*"},
		{"patient/Observation.write", "patient/Observation.write"},
		{"patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory", "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory"},
		{"launch/patient", "launch/patient"},
		{"openid", "openid"},
		{"patient/Observation.sr", ""},
		{"patient/Observation.rr", ""},
		{"patient/Observation.", ""},
		{"patient/observation.rs", ""},
		{"admin/Patient.rs", ""},
		{"patient/Patient.read?x=1", ""},
		{"patient/Patient.rs?", ""},
		{"launch/other", ""},
		{"", ""},
	}
	for _, tc := range tests {
		sc, err := ParseScope(tc.in)
		if (err != nil) != (tc.want == "") || err == nil && sc.String() != tc.want {
			t.Errorf("ParseScope(%q) = %q, %v; want %q", tc.in, sc.String(), err, tc.want)
		}
	}
}

func TestGrantScopes(t *testing.T) {
	tests := []struct {
		requested, registered string
		contexts              []string
		want                  string
	}{
		{"patient/*.rs", "patient/Observation.rs patient/Patient.r", []string{"patient"}, "patient/Observation.rs patient/Patient.r"},
		{"patient/Observation.cruds", "patient/*.rs", []string{"patient"}, "patient/Observation.rs"},
		{"patient/Observation.read", "patient/*.cruds", []string{"patient"}, "patient/Observation.read"},
		{"patient/Observation.write", "patient/*.rs", []string{"patient"}, ""},
		{"user/*.rs", "patient/*.rs", []string{"patient", "user"}, ""},
		{"system/*.rs", "system/*.rs", []string{"patient", "user"}, ""},
		{"openid fhirUser offline_access", "openid fhirUser", []string{"user"}, "openid fhirUser"},
		{"patient/Observation.rs?category=laboratory", "patient/Observation.rs", []string{"patient"}, "patient/Observation.rs?category=laboratory"},
		{"patient/Observation.rs", "patient/Observation.rs?category=laboratory", []string{"patient"}, "patient/Observation.rs?category=laboratory"},
		{"patient/Observation.rs?category=vital-signs", "patient/Observation.rs?category=laboratory", []string{"patient"}, ""},
		{"nonsense patient/Patient.r", "patient/Patient.rs", []string{"patient"}, "patient/Patient.r"},
	}
	for _, tc := range tests {
		got := strings.Join(grantScopes(tc.requested, strings.Fields(tc.registered), tc.contexts...), " ")
		if got != tc.want {
			t.Errorf("grantScopes(%q, %q) = %q, want %q", tc.requested, tc.registered, got, tc.want)
		}
	}
}

func TestPassword(t *testing.T) {
	h := hashPassword("a long enough password")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q", h)
	}
	if ok, err := verifyPassword(h, "a long enough password"); !ok || err != nil {
		t.Fatal("the right password does not verify")
	}
	if ok, _ := verifyPassword(h, "a long enough passworD"); ok {
		t.Fatal("a wrong password verifies")
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=1,t=1,p=1$AA$AA", "$argon2id$v=19$m=99999999,t=1,p=1$AAAA$" + strings.Repeat("A", 43)} {
		if _, err := verifyPassword(bad, "x"); err == nil {
			t.Errorf("hash %q accepted", bad)
		}
	}
	if checkPassword("short") == nil {
		t.Error("a short password accepted")
	}
}

func TestAccounts(t *testing.T) {
	backends(t, func(t *testing.T, db DB) {
		ctx := context.Background()
		u, err := AddUser(ctx, db, NewUser{Kind: access.Practitioner, Username: "dr.a@example", Password: testPassword, Name: "Dr A", ODS: "RRK", Roles: []string{"R8000", "R8001"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := AddUser(ctx, db, NewUser{Kind: access.Admin, Username: "dr.a@example", Password: testPassword, Name: "Again"}); !errors.Is(err, ErrExists) {
			t.Fatalf("duplicate username: %v", err)
		}
		for _, bad := range []NewUser{
			{Kind: access.Practitioner, Username: "x", Password: testPassword, Name: "X"},                                      // no ODS
			{Kind: access.PatientUser, Username: "x", Password: testPassword, Name: "X"},                                       // no patient
			{Kind: access.Practitioner, Username: "x", Password: testPassword, Name: "X", ODS: "RRK", Roles: []string{"8000"}}, // bad role
			{Kind: access.System, Username: "x", Password: testPassword, Name: "X"},                                            // not a user kind
			{Kind: access.Admin, Username: "bad name", Password: testPassword, Name: "X"},
			{Kind: access.Admin, Username: "x", Password: "short", Name: "X"},
		} {
			if _, err := AddUser(ctx, db, bad); err == nil {
				t.Errorf("accepted %+v", bad)
			}
		}
		list, err := ListUsers(ctx, db)
		if err != nil || len(list) != 1 || list[0].ID != u.ID || !slices.Equal(list[0].Roles, []string{"R8000", "R8001"}) || list[0].Disabled {
			t.Fatalf("%v %+v", err, list)
		}
		if err := DisableUser(ctx, db, "dr.a@example"); err != nil {
			t.Fatal(err)
		}
		if err := DisableUser(ctx, db, "nobody"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("disable unknown: %v", err)
		}
		if list, _ = ListUsers(ctx, db); !list[0].Disabled {
			t.Fatal("not disabled")
		}
		c, err := AddClient(ctx, db, NewClient{Name: "App", Public: true, RedirectURIs: []string{"https://app.example/cb", "http://localhost:3000/cb"}, Scopes: []string{"user/*.rs", "openid"}})
		if err != nil {
			t.Fatal(err)
		}
		cs, err := ListClients(ctx, db)
		if err != nil || len(cs) != 1 || cs[0].ID != c.ID || !cs[0].Public || len(cs[0].RedirectURIs) != 2 || cs[0].Kind != access.System {
			t.Fatalf("%v %+v", err, cs)
		}
		if err := DisableClient(ctx, db, c.ID); err != nil {
			t.Fatal(err)
		}
		if got, _ := lookupClient(ctx, db, c.ID); !got.Disabled {
			t.Fatal("client not disabled")
		}
	})
}

func TestSMARTConfiguration(t *testing.T) {
	f := newFixture(t, openSQLite(t))
	for _, path := range []string{"/.well-known/smart-configuration", "/fhir/.well-known/smart-configuration"} {
		resp, err := http.Get(f.http.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		json.NewDecoder(resp.Body).Decode(&doc)
		resp.Body.Close()
		for _, k := range []string{"issuer", "jwks_uri", "authorization_endpoint", "token_endpoint", "grant_types_supported",
			"token_endpoint_auth_methods_supported", "token_endpoint_auth_signing_alg_values_supported", "scopes_supported",
			"response_types_supported", "capabilities", "code_challenge_methods_supported", "introspection_endpoint"} {
			if doc[k] == nil {
				t.Errorf("%s: no %s", path, k)
			}
		}
		if m, _ := doc["code_challenge_methods_supported"].([]any); len(m) != 1 || m[0] != "S256" {
			t.Errorf("code_challenge_methods_supported %v", m)
		}
		caps, _ := doc["capabilities"].([]any)
		for _, want := range []string{"launch-ehr", "launch-standalone", "client-public", "client-confidential-asymmetric", "context-ehr-patient",
			"context-standalone-patient", "sso-openid-connect", "permission-v2", "permission-v1", "permission-patient", "permission-user", "authorize-post"} {
			if !slices.Contains(caps, any(want)) {
				t.Errorf("capability %s missing", want)
			}
		}
		if doc["token_endpoint"] != f.srv.TokenURL() {
			t.Errorf("token_endpoint %v", doc["token_endpoint"])
		}
	}
	var sec map[string]any
	if err := json.Unmarshal(f.srv.SecurityJSON(), &sec); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(f.srv.SecurityJSON()), "oauth-uris") || !strings.Contains(string(f.srv.SecurityJSON()), `"code":"SMART-on-FHIR"`) {
		t.Errorf("security %s", f.srv.SecurityJSON())
	}
}
