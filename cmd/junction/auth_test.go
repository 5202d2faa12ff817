package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// lastLine returns the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

func TestUserAndClientCommands(t *testing.T) {
	ctx := context.Background()
	data, dir := t.TempDir(), t.TempDir()
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("a sufficiently long password\n"), 0o600)
	run1 := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(ctx, args, &out, &errOut)
		return out.String(), err
	}
	out, err := run1("user", "add", "--data", data, "--kind", "practitioner", "--username", "dr.who", "--password-file", pw,
		"--name", "Dr Who", "--ods", "A81001", "--role", "R8000", "--role", "R8001", "--practitioner", "prac1")
	if err != nil {
		t.Fatalf("user add: %v", err)
	}
	userID := lastLine(out)
	if len(userID) != 32 || !strings.Contains(out, "created practitioner user dr.who") || !strings.Contains(out, "R8000 R8001") {
		t.Fatalf("user add output %q", out)
	}
	if _, err := run1("user", "add", "--data", data, "--kind", "patient", "--username", "pat", "--password-file", pw, "--name", "Pat"); err == nil {
		t.Error("a patient user without --patient was accepted")
	}
	out, err = run1("user", "list", "--data", data)
	if err != nil || !strings.Contains(out, userID) || !strings.Contains(out, "active") {
		t.Fatalf("user list: %v %q", err, out)
	}
	if out, err = run1("user", "disable", "--data", data, "dr.who"); err != nil {
		t.Fatal(err)
	}
	if out, _ = run1("user", "list", "--data", data); !strings.Contains(out, "disabled") {
		t.Errorf("after disable: %q", out)
	}
	if _, err := run1("user", "disable", "--data", data, "nobody"); err == nil {
		t.Error("disabling an unknown user succeeded")
	}

	key, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	priv := jose.JSONWebKey{Key: key, KeyID: "k1", Algorithm: "ES384"}
	pub, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{priv.Public()}})
	jwks := filepath.Join(dir, "jwks.json")
	os.WriteFile(jwks, pub, 0o600)
	out, err = run1("client", "add", "--data", data, "--name", "Backend", "--jwks", jwks, "--scope", "system/Patient.rs system/Observation.rs")
	if err != nil {
		t.Fatalf("client add: %v", err)
	}
	clientID := lastLine(out)
	if len(clientID) != 32 || !strings.Contains(out, "system/Patient.rs system/Observation.rs") {
		t.Fatalf("client add output %q", out)
	}
	out, err = run1("client", "add", "--data", data, "--name", "App", "--public", "--redirect-uri", "https://app.example/cb", "--scope", "launch openid fhirUser patient/*.rs")
	if err != nil || len(lastLine(out)) != 32 {
		t.Fatalf("public client add: %v %q", err, out)
	}
	if _, err := run1("client", "add", "--data", data, "--name", "Bad", "--public", "--scope", "user/*.rs"); err == nil {
		t.Error("a public client without a redirect URI was accepted")
	}
	if out, err = run1("client", "list", "--data", data); err != nil || !strings.Contains(out, clientID) || !strings.Contains(out, "public") {
		t.Fatalf("client list: %v %q", err, out)
	}
	if _, err := run1("client", "disable", "--data", data, clientID); err != nil {
		t.Fatal(err)
	}
	if out, err = run1("auth", "rotate-key", "--data", data); err != nil || len(lastLine(out)) != 43 {
		t.Fatalf("rotate-key: %v %q", err, out)
	}
	privFile := filepath.Join(dir, "key.jwk")
	b, _ := json.Marshal(priv)
	os.WriteFile(privFile, b, 0o600)
	out, err = run1("auth", "assertion", "--client-id", clientID, "--key", privFile, "--aud", "https://junction.example/auth/token")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.ParseSigned(strings.TrimSpace(out), []jose.SignatureAlgorithm{jose.ES384})
	if err != nil {
		t.Fatal(err)
	}
	var cl jwt.Claims
	if err := tok.Claims(&key.PublicKey, &cl); err != nil || cl.Issuer != clientID || cl.Subject != clientID || cl.ID == "" || !cl.Audience.Contains("https://junction.example/auth/token") {
		t.Fatalf("assertion claims %+v %v", cl, err)
	}
}
