package access_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nhs-junction/junction/internal/access"
)

func TestDefaultPolicy(t *testing.T) {
	p := access.DefaultPolicy()
	if p.BreakGlass != 4*time.Hour {
		t.Errorf("break-glass lasts %v, want 4h", p.BreakGlass)
	}
	for _, code := range []string{"R8000", "R8008", "R0001"} {
		if _, ok := p.Roles[code]; !ok {
			t.Errorf("baseline has no role %s", code)
		}
	}
	for _, purpose := range []string{"TREAT", "ETREAT", "BTG"} {
		if p.Purposes[purpose] != access.DirectCare {
			t.Errorf("%s is %q, want direct", purpose, p.Purposes[purpose])
		}
	}
	if p.Purposes["HRESCH"] != access.Secondary {
		t.Error("HRESCH is not secondary")
	}
}

func TestParsePolicyErrors(t *testing.T) {
	base := `"kinds":{"practitioner":{"activities":[]},"patient":{"activities":[]},"system":{"activities":[]},"privacy-officer":{"activities":[]},"admin":{"activities":[]}},"purposes":{"TREAT":"direct","ETREAT":"direct","BTG":"direct"}`
	cases := []struct{ name, doc, want string }{
		{"not JSON", `{`, "not a policy document"},
		{"unknown field", `{"rolez":{},` + base + `}`, "unknown field"},
		{"unknown activity", `{"roles":{"R8000":{"activities":["read-everything"]}},` + base + `}`, `unknown activity "read-everything"`},
		{"bad role code", `{"roles":{"GP":{"activities":[]}},` + base + `}`, "not a national RBAC job role code"},
		{"missing kind", `{"kinds":{"practitioner":{"activities":[]}},"purposes":{"TREAT":"direct","ETREAT":"direct","BTG":"direct"}}`, `no entry for "patient"`},
		{"unknown kind", `{"kinds":{"robot":{"activities":[]},` + base[len(`"kinds":{`):] + `}`, `"robot" is not a caller kind`},
		{"patient with relationship", `{` + strings.Replace(base, `"patient":{"activities":[]}`, `"patient":{"activities":[],"relationship":true}`, 1) + `}`, "do not apply to patients"},
		{"direct care subject to opt-out", `{` + strings.Replace(base, `"TREAT":"direct"`, `"TREAT":"secondary"`, 1) + `}`, "never applies to direct care"},
		{"bad duration", `{"breakGlassDuration":"forever",` + base + `}`, "breakGlassDuration"},
		{"too long", `{"breakGlassDuration":"48h",` + base + `}`, "at most 24h"},
		{"bad class", `{` + strings.Replace(base, `"BTG":"direct"`, `"BTG":"direct","HRESCH":"sometimes"`, 1) + `}`, "class must be"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := access.ParsePolicy([]byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, err := access.ParsePolicy([]byte(`{` + base + `}`)); err != nil {
		t.Fatalf("minimal policy refused: %v", err)
	}
}

func TestLoadPolicy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.json")
	doc := `{"breakGlassDuration":"2h","roles":{"R8000":{"name":"x","activities":["read-demographics","read-clinical","read-very-restricted"]}},
	"kinds":{"practitioner":{"activities":[],"relationship":true,"consent":true},"patient":{"activities":[]},"system":{"activities":[]},"privacy-officer":{"activities":[]},"admin":{"activities":[]}},
	"purposes":{"TREAT":"direct","ETREAT":"direct","BTG":"direct"}}`
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := access.LoadPolicy(path)
	if err != nil {
		t.Fatal(err)
	}
	if p.BreakGlass != 2*time.Hour {
		t.Errorf("break-glass %v", p.BreakGlass)
	}
	if _, err := access.LoadPolicy(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("a missing file loaded")
	}
}

func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte(`{"roles":{"R8000":{"activities":["read-clinical"]}}}`))
	f.Add([]byte(`{"breakGlassDuration":"1h"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := access.ParsePolicy(b)
		if err != nil {
			return
		}
		if p.BreakGlass <= 0 || p.BreakGlass > access.MaxBreakGlass {
			t.Fatalf("accepted break-glass duration %v", p.BreakGlass)
		}
		for code, role := range p.Roles {
			for _, a := range role.Activities {
				if _, ok := access.Activities[a]; !ok {
					t.Fatalf("role %s: accepted unknown activity %q", code, a)
				}
			}
		}
	})
}
