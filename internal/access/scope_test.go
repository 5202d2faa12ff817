package access_test

import (
	"strings"
	"testing"

	"github.com/nhs-junction/junction/internal/access"
)

// Cases from the SMART App Launch 2.x page "Scopes and Launch Context".
func TestParseScopes(t *testing.T) {
	cases := []struct {
		scope string
		ctx   access.Context
		typ   string
		perms string
		err   bool
	}{
		{scope: "patient/*.rs", ctx: "patient", typ: "*", perms: "rs"},
		{scope: "user/*.cruds", ctx: "user", typ: "*", perms: "cruds"},
		{scope: "patient/Observation.c", ctx: "patient", typ: "Observation", perms: "c"},
		{scope: "patient/Observation.rs", ctx: "patient", typ: "Observation", perms: "rs"},
		{scope: "patient/Observation.cu", ctx: "patient", typ: "Observation", perms: "cu"},
		{scope: "user/Appointment.cruds", ctx: "user", typ: "Appointment", perms: "cruds"},
		{scope: "system/Encounter.cud", ctx: "system", typ: "Encounter", perms: "cud"},
		{scope: "system/*.rs", ctx: "system", typ: "*", perms: "rs"},
		// v1 forms: .read => .rs, .write => .cud, .* => .cruds.
		{scope: "patient/*.read", ctx: "patient", typ: "*", perms: "rs"},
		{scope: "user/Observation.write", ctx: "user", typ: "Observation", perms: "cud"},
		{scope: "user/*.*", ctx: "user", typ: "*", perms: "cruds"},
		{scope: "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory", ctx: "patient", typ: "Observation", perms: "rs"},
		// Undefined or out-of-order permissions are refused.
		{scope: "patient/Observation.dus", err: true},
		{scope: "patient/Observation.rr", err: true},
		{scope: "patient/Observation.sr", err: true},
		{scope: "patient/Observation.", err: true},
		{scope: "patient/Observation.x", err: true},
		{scope: "clinic/Observation.rs", err: true},
		{scope: "patient/NotAType.rs", err: true},
		{scope: "patient/Observation", err: true},
		{scope: "patient/Observation.read?category=laboratory", err: true},
		{scope: "patient/Observation.rs?code:in=http://x", err: true},
		{scope: "patient/Observation.rs?patient.birthdate=1990", err: true},
		{scope: "patient/Observation.rs?date=2020", err: true}, // not a token parameter
		{scope: "patient/Observation.rs?", err: true},
		{scope: "patient/Observation.rs?category=", err: true},
	}
	for _, tc := range cases {
		t.Run(tc.scope, func(t *testing.T) {
			ss, err := access.ParseScopes([]string{tc.scope})
			if tc.err {
				if err == nil {
					t.Fatalf("parsed %+v, want an error", ss)
				}
				return
			}
			if err != nil || len(ss) != 1 {
				t.Fatalf("ParseScopes: %v %v", ss, err)
			}
			s := ss[0]
			if s.Context != tc.ctx || s.Type != tc.typ || s.Perms.String() != tc.perms {
				t.Errorf("got %s/%s.%s", s.Context, s.Type, s.Perms)
			}
		})
	}
}

func TestScopeRestriction(t *testing.T) {
	ss, err := access.ParseScopes([]string{`patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory,vital-signs&code=http://loinc.org|1234-5`})
	if err != nil {
		t.Fatal(err)
	}
	r := ss[0].Restrict
	if len(r) != 2 || r[0].Param != "category" || len(r[0].Values) != 2 || r[1].Param != "code" {
		t.Fatalf("restrictions %+v", r)
	}
	if v := r[0].Values[0]; !v.HasSystem || v.System != "http://terminology.hl7.org/CodeSystem/observation-category" || v.Code != "laboratory" {
		t.Errorf("first value %+v", v)
	}
	if v := r[0].Values[1]; v.HasSystem || v.Code != "vital-signs" {
		t.Errorf("second value %+v", v)
	}
}

func TestNonResourceScopes(t *testing.T) {
	ss, err := access.ParseScopes([]string{"openid fhirUser launch launch/patient offline_access online_access", "user/Patient.rs"})
	if err != nil || len(ss) != 1 {
		t.Fatalf("got %v %v", ss, err)
	}
}

// Granting follows the SMART mapping of permissions to interactions and
// the contexts a caller kind may use; scope equivalence holds
// (Observation.rs is Observation.r plus Observation.s).
func TestGranting(t *testing.T) {
	ss, _ := access.ParseScopes([]string{"user/Observation.r", "user/Observation.s", "patient/Patient.rs", "system/Encounter.cud"})
	cases := []struct {
		kind access.Kind
		perm access.Perm
		typ  string
		want bool
	}{
		{access.Practitioner, access.PermRead, "Observation", true},
		{access.Practitioner, access.PermSearch, "Observation", true},
		{access.Practitioner, access.PermCreate, "Observation", false}, // write does not come with read, nor read with write
		{access.Practitioner, access.PermRead, "Condition", false},
		{access.Practitioner, access.PermRead, "Patient", true}, // patient context: compartment-limited by the filter
		{access.System, access.PermRead, "Observation", false},  // user scopes are not for systems
		{access.System, access.PermCreate, "Encounter", true},
		{access.Practitioner, access.PermCreate, "Encounter", false}, // system scopes are not for users
		{access.System, access.PermRead, "Encounter", false},
	}
	for _, tc := range cases {
		if got := ss.Allows(tc.kind, tc.perm, tc.typ); got != tc.want {
			t.Errorf("%s %s %s = %v, want %v", tc.kind, tc.perm, tc.typ, got, tc.want)
		}
	}
}

func FuzzParseScopes(f *testing.F) {
	for _, s := range []string{"patient/*.rs", "user/Observation.cruds?category=a|b,c", "system/*.read", "openid", "user/X.rs?code=\\,a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ss, err := access.ParseScopes([]string{s})
		if err != nil {
			return
		}
		for _, sc := range ss {
			if sc.Perms == 0 || sc.Perms&^access.PermAll != 0 || sc.Type == "" {
				t.Fatalf("%q parsed to %+v", s, sc)
			}
			if !strings.HasPrefix(sc.Raw, string(sc.Context)+"/") {
				t.Fatalf("%q: raw %q does not start with its context", s, sc.Raw)
			}
		}
	})
}
