package imaging_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nhs-junction/junction/internal/imaging"
	"github.com/nhs-junction/junction/internal/imaging/imagingtest"
)

func req(id string) imaging.ModelRequest {
	return imaging.ModelRequest{RequestID: "r-" + id, ImagingStudy: imaging.StudyRef{Reference: "http://x/fhir/ImagingStudy/" + id}}
}

// TestClient runs the client against the model double for every way a
// real model service behaves.
func TestClient(t *testing.T) {
	m := imagingtest.New()
	defer m.Close()
	c := &imaging.Client{URL: m.URL, Timeout: 200 * time.Millisecond, Backoff: 10 * time.Millisecond}
	cases := []struct {
		id       string
		b        imagingtest.Behaviour
		score    float64
		err      string
		malform  bool
		attempts int
	}{
		{"ok", imagingtest.Behaviour{Score: 0.42}, 0.42, "", false, 1},
		{"zero", imagingtest.Behaviour{Score: 0}, 0, "", false, 1},
		{"slow-but-in-time", imagingtest.Behaviour{Score: 0.9, Latency: 50 * time.Millisecond}, 0.9, "", false, 1},
		{"too-slow", imagingtest.Behaviour{Score: 0.9, Latency: 400 * time.Millisecond}, 0, "did not answer within 200ms", false, 3},
		{"hang", imagingtest.Behaviour{Hang: true}, 0, "did not answer within", false, 3},
		{"5xx-once", imagingtest.Behaviour{Score: 0.6, Fail5xx: 1}, 0.6, "", false, 2},
		{"5xx-always", imagingtest.Behaviour{Fail5xx: -1}, 0, "HTTP 503", false, 3},
		{"score>1", imagingtest.Behaviour{Malformed: `{"score":1.01,"finding":{"system":"s","code":"c"},"model":{"name":"n","version":"v"}}`}, 0, "between 0 and 1", true, 1},
		{"score<0", imagingtest.Behaviour{Malformed: `{"score":-0.1,"finding":{"system":"s","code":"c"},"model":{"name":"n","version":"v"}}`}, 0, "between 0 and 1", true, 1},
		{"no-score", imagingtest.Behaviour{Malformed: `{"finding":{"system":"s","code":"c"},"model":{"name":"n","version":"v"}}`}, 0, "no score", true, 1},
		{"score-string", imagingtest.Behaviour{Malformed: `{"score":"0.5","finding":{"system":"s","code":"c"},"model":{"name":"n","version":"v"}}`}, 0, "not JSON of the contract", true, 1},
		{"no-finding", imagingtest.Behaviour{Malformed: `{"score":0.5,"model":{"name":"n","version":"v"}}`}, 0, "no finding", true, 1},
		{"no-version", imagingtest.Behaviour{Malformed: `{"score":0.5,"finding":{"system":"s","code":"c"},"model":{"name":"n"}}`}, 0, "no model name and version", true, 1},
		{"html", imagingtest.Behaviour{Malformed: `<html>bad gateway</html>`}, 0, "not JSON", true, 1},
	}
	for _, tc := range cases {
		t.Run(tc.id, func(t *testing.T) {
			m.Set(tc.id, tc.b)
			res, err := c.Score(context.Background(), req(tc.id))
			if tc.err == "" {
				if err != nil || res.Score != tc.score || res.Model.Name != m.Name || res.Model.Version != m.Version || res.Finding.Code != imagingtest.Haemorrhage.Code {
					t.Fatalf("got %+v, %v", res, err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want one saying %q", err, tc.err)
			}
			if errors.Is(err, imaging.ErrMalformed) != tc.malform {
				t.Errorf("ErrMalformed %v, want %v", errors.Is(err, imaging.ErrMalformed), tc.malform)
			}
			if n := m.Attempts(tc.id); n != tc.attempts {
				t.Errorf("%d attempts, want %d", n, tc.attempts)
			}
		})
	}
	t.Run("the request carries the study", func(t *testing.T) {
		r := req("carry")
		r.ImagingStudy.StudyInstanceUID, r.ImagingStudy.Endpoints = "1.2.3", []string{"https://pacs.example/dicom-web"}
		if _, err := c.Score(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		got := m.Requests()
		last := got[len(got)-1]
		if last.ImagingStudy.StudyInstanceUID != "1.2.3" || last.ImagingStudy.Endpoints[0] != "https://pacs.example/dicom-web" || last.RequestID != "r-carry" {
			t.Errorf("request %+v", last)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		dead := &imaging.Client{URL: "http://127.0.0.1:1/score", Timeout: 100 * time.Millisecond, Backoff: time.Millisecond}
		if _, err := dead.Score(context.Background(), req("x")); err == nil || !strings.Contains(err.Error(), "unreachable") {
			t.Errorf("error %v", err)
		}
	})
}

// FuzzModelResponse: no answer, however broken, panics the client's
// check or yields a score outside 0..1 or a result without a finding or
// model.
func FuzzModelResponse(f *testing.F) {
	f.Add(`{"score":0.5,"finding":{"system":"s","code":"c"},"model":{"name":"n","version":"v"}}`)
	f.Add(`{"score":1e308}`)
	f.Add(`{"score":null,"finding":null}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, body string) {
		res, err := imaging.CheckAnswer([]byte(body))
		if err != nil {
			return
		}
		if res.Score < 0 || res.Score > 1 || res.Finding.Code == "" || res.Finding.System == "" || res.Model.Name == "" || res.Model.Version == "" {
			t.Fatalf("accepted %q as %+v", body, res)
		}
		if _, err := json.Marshal(res); err != nil {
			t.Fatal(err)
		}
	})
}
