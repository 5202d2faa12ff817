package app

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nhs-junction/junction/internal/config"
)

// TestAuthOffLoopbackOnly checks that --auth off is refused anywhere but
// on a loopback address.
func TestAuthOffLoopbackOnly(t *testing.T) {
	cfg := config.Defaults()
	cfg.Auth = "off"
	for _, tc := range []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:8080", true},
		{"127.0.0.2:8080", true},
		{"[::1]:8080", true},
		{"0.0.0.0:8080", false},
		{"[::]:8080", false},
		{"10.1.2.3:8080", false},
	} {
		addr, err := net.ResolveTCPAddr("tcp", tc.addr)
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckAuthOff(cfg, addr); (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want allowed %v", tc.addr, err, tc.ok)
		}
	}
	cfg.Auth = "on"
	addr, _ := net.ResolveTCPAddr("tcp", "0.0.0.0:8080")
	if err := CheckAuthOff(cfg, addr); err != nil {
		t.Errorf("auth on, any address: %v", err)
	}
}

// TestAuthOnRefusesAnonymous checks that the composed server, with
// authorisation on and no token, answers 401 with a Bearer challenge to
// every FHIR interaction except the CapabilityStatement.
func TestAuthOnRefusesAnonymous(t *testing.T) {
	ctx := context.Background()
	cfg := config.Defaults()
	cfg.Data = t.TempDir()
	engine, err := OpenStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	node, err := Build(ctx, cfg, engine, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(node.Handler)
	defer srv.Close()
	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/fhir/Patient/x", ""},
		{"GET", "/fhir/Patient", ""},
		{"GET", "/fhir/_history", ""},
		{"POST", "/fhir/Patient", `{"resourceType":"Patient"}`},
		{"POST", "/fhir", `{"resourceType":"Bundle","type":"batch"}`},
		{"GET", "/fhir/Patient/x/$everything", ""},
		{"DELETE", "/fhir/Patient/x", ""},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
		req.Header.Set("Content-Type", "application/fhir+json")
		if tc.method == "GET" && tc.path == "/fhir/Patient" {
			req.Header.Set("Authorization", "Bearer not-a-token")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer ") || !strings.Contains(string(b), `"OperationOutcome"`) {
			t.Errorf("%s %s: %d %q %s; want 401 with a Bearer challenge and an OperationOutcome", tc.method, tc.path, resp.StatusCode, resp.Header.Get("WWW-Authenticate"), b)
		}
	}
	resp, err := http.Get(srv.URL + "/fhir/metadata")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("metadata without a token: %d, want 200", resp.StatusCode)
	}
}
