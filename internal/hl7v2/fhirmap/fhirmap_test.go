package fhirmap

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/nhs-junction/junction/internal/hl7v2"
)

func TestParseTS(t *testing.T) {
	for _, c := range []struct {
		in, date, dateTime string
		ok                 bool
	}{
		{"1984", "1984", "1984", true},
		{"198402", "1984-02", "1984-02", true},
		{"19840214", "1984-02-14", "1984-02-14", true},
		{"202503021012", "2025-03-02", "2025-03-02T10:12:00Z", true},
		{"20250702101200", "2025-07-02", "2025-07-02T10:12:00+01:00", true}, // British Summer Time
		{"20250302101200.25+0200", "2025-03-02", "2025-03-02T10:12:00.250+02:00", true},
		{"2025030210", "2025-03-02", "2025-03-02T10:00:00Z", true},
		{"196513121515", "", "", false}, // month 13 (NHS ITK example)
		{"20250431", "", "", false},
		{"01/10/1948", "", "", false},
		{"2025+01", "", "", false},
		{"", "", "", false},
	} {
		got, ok := parseTS(c.in)
		if ok != c.ok || ok && (got.date() != c.date || got.dateTime() != c.dateTime) {
			t.Errorf("parseTS(%q) = %q %q %v, want %q %q %v", c.in, got.date(), got.dateTime(), ok, c.date, c.dateTime, c.ok)
		}
	}
}

func TestConfig(t *testing.T) {
	if _, err := ParseConfig([]byte(`{"facilities":{"RX1":{"ods":"RX1","mrn":[{"authority":"RX1","system":"https://fhir.example.nhs.uk/Id/mrn"}]}}}`)); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{
		`{"facilties":{}}`, // misspelt
		`{"default":{"mrn":[{"system":"https://x"}]}}`,
		`{"default":{"codeSystems":{"LN":"not a uri"}}}`,
	} {
		if _, err := ParseConfig([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}

// FuzzMap feeds arbitrary messages through Prepare and Build: they may
// fail with an *Error, but never panic, and a Bundle they produce is JSON.
func FuzzMap(f *testing.F) {
	for _, dir := range []string{"../../feed/testdata/messages", "../../../../shared/data/hl7v2"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.hl7"))
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := hl7v2.Parse(raw)
		if err != nil {
			return
		}
		p, err := Prepare(m, DefaultConfig())
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("Prepare: %T %v", err, err)
			}
			return
		}
		for _, ex := range []Existing{{}, {Patient: &Found{ID: "p1", Version: 1, Body: []byte(`{"resourceType":"Patient","id":"p1"}`)},
			Encounter:   &Found{ID: "e1", Version: 2, Body: []byte(`{"resourceType":"Encounter","id":"e1","status":"in-progress","location":[{"status":"active"}]}`)},
			MergeSource: &Found{ID: "p2", Version: 1, Body: []byte(`{"resourceType":"Patient","id":"p2"}`)}}} {
			res, err := p.Build(ex)
			if err != nil {
				if _, ok := err.(*Error); !ok {
					t.Fatalf("Build: %T %v", err, err)
				}
				continue
			}
			if res.Bundle != nil && !json.Valid(res.Bundle) {
				t.Fatalf("Build produced invalid JSON")
			}
		}
	})
}
