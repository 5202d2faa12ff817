package audit

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"golang.org/x/mod/sumdb/note"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/validate"
)

func TestHandler(t *testing.T) {
	forBackends(t, func(t *testing.T, b backend) {
		st := b.open(t)
		l := openLog(t, st)
		writeEvents(t, st, "h", 300, 100)
		cp := integrate(t, l)
		srv := httptest.NewServer(l.Handler())
		defer srv.Close()

		tests := []struct {
			method, path string
			status       int
			ctype        string
			size         int // body length, -1 to skip
		}{
			{"GET", "/log/checkpoint", 200, "text/plain; charset=utf-8", len(cp.Note)},
			{"HEAD", "/log/checkpoint", 200, "text/plain; charset=utf-8", 0},
			{"GET", "/log/key", 200, "text/plain; charset=utf-8", len(l.VerifierKey()) + 1},
			{"GET", "/log/tile/0/000", 200, "application/octet-stream", 8192},
			{"GET", "/log/tile/0/001.p/44", 200, "application/octet-stream", 44 * 32},
			{"GET", "/log/tile/0/001.p/45", 404, "", -1}, // beyond the tree
			{"GET", "/log/tile/0/001", 404, "", -1},      // only partial so far
			{"GET", "/log/tile/0/002.p/1", 404, "", -1},
			{"GET", "/log/tile/1/000.p/1", 200, "application/octet-stream", 32},
			{"GET", "/log/tile/1/000.p/2", 404, "", -1},
			{"GET", "/log/tile/entries/000", 200, "application/octet-stream", 256 * 34},
			{"GET", "/log/tile/entries/001.p/3", 200, "application/octet-stream", 3 * 34},
			{"GET", "/log/tile/0/1", 404, "", -1}, // not canonical
			{"GET", "/log/nothing", 404, "", -1},
			{"POST", "/log/checkpoint", 405, "", -1},
			{"GET", "/log/consistency?from=10&to=300", 200, "application/fhir+json", -1},
			{"GET", "/log/consistency?from=10", 200, "application/fhir+json", -1},
			{"GET", "/log/consistency?from=301", 400, "application/fhir+json", -1},
			{"GET", "/log/consistency?from=x", 400, "application/fhir+json", -1},
			{"GET", "/log/consistency", 400, "application/fhir+json", -1},
		}
		for _, tt := range tests {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body bytes.Buffer
			body.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("%s %s: %d, want %d: %s", tt.method, tt.path, resp.StatusCode, tt.status, body.String())
				continue
			}
			if tt.ctype != "" && resp.Header.Get("Content-Type") != tt.ctype {
				t.Errorf("%s %s: Content-Type %q, want %q", tt.method, tt.path, resp.Header.Get("Content-Type"), tt.ctype)
			}
			if tt.size >= 0 && body.Len() != tt.size {
				t.Errorf("%s %s: %d bytes, want %d", tt.method, tt.path, body.Len(), tt.size)
			}
			if tt.status == 400 && !strings.Contains(body.String(), `"OperationOutcome"`) {
				t.Errorf("%s %s: a 400 without an OperationOutcome: %s", tt.method, tt.path, body.String())
			}
		}

		// The served checkpoint verifies with the served key.
		v, err := note.NewVerifier(strings.TrimSpace(string(get(t, srv.URL+"/log/key", 200))))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := note.Open(get(t, srv.URL+"/log/checkpoint", 200), note.VerifierList(v)); err != nil {
			t.Errorf("served checkpoint: %v", err)
		}
		// The consistency Parameters carry a proof the merkle verifier accepts.
		ps := paramsOf(t, get(t, srv.URL+"/log/consistency?from=10&to=300", 200))
		if ps["from"][0] != "10" || ps["to"][0] != "300" {
			t.Fatalf("consistency parameters %v", ps)
		}
		if err := proof.VerifyConsistency(hasher, 10, 300, unb64(t, ps["path"]), unb64(t, ps["fromRoot"])[0], unb64(t, ps["toRoot"])[0]); err != nil {
			t.Errorf("served consistency proof: %v", err)
		}
		if !bytes.Equal(unb64(t, ps["toRoot"])[0], cp.Root) || ps["checkpoint"][0] != string(cp.Note) {
			t.Error("consistency to the latest size does not carry the latest checkpoint")
		}
	})
}

func TestProofParameters(t *testing.T) {
	ctx := context.Background()
	st := sqliteBackend(t).open(t)
	l := openLog(t, st)
	ids := writeEvents(t, st, "pp", 40, 40)
	cp := integrate(t, l)
	p, err := l.Prove(ctx, ids[17], 0)
	if err != nil {
		t.Fatal(err)
	}
	ps := paramsOf(t, p.Parameters())
	if ps["auditEvent"][0] != "AuditEvent/pp-17/_history/1" || ps["leafIndex"][0] != "17" || ps["treeSize"][0] != "40" {
		t.Fatalf("parameters %v", ps)
	}
	// A client with only the AuditEvent and these parameters checks it.
	body := readBody(t, st, ids[17])
	entry := EntryFor(unb64(t, ps["salt"])[0], body)
	if !bytes.Equal(entry, unb64(t, ps["entry"])[0]) {
		t.Fatal("entry does not commit to the body")
	}
	c, err := OpenCheckpoint([]byte(ps["checkpoint"][0]), l.Verifier())
	if err != nil || !bytes.Equal(c.Root, cp.Root) {
		t.Fatalf("checkpoint in the parameters: %v", err)
	}
	if err := proof.VerifyInclusion(hasher, 17, 40, hasher.HashLeaf(entry), unb64(t, ps["path"]), c.Root); err != nil {
		t.Errorf("inclusion from the parameters: %v", err)
	}
	mustValidateParameters(t, p.Parameters())
	cons, err := l.ConsistencyProof(ctx, 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	mustValidateParameters(t, cons.Parameters())
}

// paramsOf returns the values of a Parameters resource by name, each as
// its string or base64 text.
func paramsOf(t *testing.T, raw []byte) map[string][]string {
	t.Helper()
	var p struct {
		ResourceType string
		Parameter    []map[string]any
	}
	if err := json.Unmarshal(raw, &p); err != nil || p.ResourceType != "Parameters" {
		t.Fatalf("not Parameters: %v %s", err, raw)
	}
	out := map[string][]string{}
	for _, x := range p.Parameter {
		name := x["name"].(string)
		for k, v := range x {
			if k == "name" {
				continue
			}
			if s, ok := v.(string); ok {
				out[name] = append(out[name], s)
			} else if m, ok := v.(map[string]any); ok {
				out[name] = append(out[name], m["reference"].(string))
			}
		}
	}
	return out
}

func unb64(t *testing.T, list []string) [][]byte {
	t.Helper()
	var out [][]byte
	for _, s := range list {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// FuzzOpenCheckpoint checks that whatever OpenCheckpoint accepts is a
// checkpoint signed by the key whose text formats back exactly.
func FuzzOpenCheckpoint(f *testing.F) {
	skey, vkey, err := note.GenerateKey(nil, "fuzz.example/log")
	if err != nil {
		f.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	verifier, _ := note.NewVerifier(vkey)
	for _, text := range []string{
		checkpointText("fuzz.example/log", 5, bytes.Repeat([]byte{7}, 32)),
		"fuzz.example/log\n05\nAAAA\n",
		"fuzz.example/log\n1\n" + base64.StdEncoding.EncodeToString(make([]byte, 32)) + "\next\n",
		"other/log\n1\n" + base64.StdEncoding.EncodeToString(make([]byte, 32)) + "\n",
	} {
		msg, err := note.Sign(&note.Note{Text: text}, signer)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(msg, true)
		f.Add([]byte(text), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, sign bool) {
		msg := data
		if sign {
			// Fuzz the text under a valid signature, to reach the parser.
			var err error
			if msg, err = note.Sign(&note.Note{Text: string(data)}, signer); err != nil {
				return
			}
		}
		cp, err := OpenCheckpoint(msg, verifier)
		if err != nil {
			return
		}
		n, err := note.Open(msg, note.VerifierList(verifier))
		if err != nil {
			t.Fatalf("accepted a note that does not verify: %v", err)
		}
		if want := checkpointText(cp.Origin, cp.Size, cp.Root); !strings.HasPrefix(n.Text, want) || cp.Origin != "fuzz.example/log" {
			t.Fatalf("accepted %q as %+v", n.Text, cp)
		}
	})
}

func mustValidateParameters(t *testing.T, raw []byte) {
	t.Helper()
	for _, is := range validate.Validate(raw, validate.Options{}) {
		if is.Severity == fhir.SeverityError {
			t.Errorf("R4 validation: %s %v %s\n%s", is.Code, is.Expression, is.Diagnostics, raw)
		}
	}
}
