package authn

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBackendServicesWithNodeJose gets a system token with an ES384
// client assertion signed by the npm package jose (panva/jose), a
// maintained JOSE library that is not ours, so that the server is
// checked against someone else's reading of RFC 7515/7523. It needs node
// and npm; without them it skips, except in CI (CI=true), where it fails.
func TestBackendServicesWithNodeJose(t *testing.T) {
	node, nerr := exec.LookPath("node")
	npm, merr := exec.LookPath("npm")
	if nerr != nil || merr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("node and npm are required in CI for the interoperability test")
		}
		t.Skip("node or npm not installed")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	install := exec.CommandContext(ctx, npm, "install", "--no-audit", "--no-fund", "--silent", "--prefix", dir, "jose@5")
	if out, err := install.CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("npm install jose: %v\n%s", err, out)
		}
		t.Skipf("npm install jose failed (offline?): %v\n%s", err, out)
	}
	f := newFixture(t, openSQLite(t))
	key := newECKey(t)
	c := f.addClient(NewClient{Name: "node client", JWKS: publicJWKS(t, key), Scopes: []string{"system/Observation.rs"}})
	priv, err := json.Marshal(key)
	if err != nil {
		t.Fatal(err)
	}
	script := `import * as jose from 'jose';
const jwk = JSON.parse(process.env.JWK);
const key = await jose.importJWK(jwk, 'ES384');
const jwt = await new jose.SignJWT({})
  .setProtectedHeader({ alg: 'ES384', kid: jwk.kid, typ: 'JWT' })
  .setIssuer(process.env.CLIENT_ID).setSubject(process.env.CLIENT_ID)
  .setAudience(process.env.AUD).setJti(crypto.randomUUID())
  .setIssuedAt().setExpirationTime('4m')
  .sign(key);
process.stdout.write(jwt);
`
	path := filepath.Join(dir, "sign.mjs")
	if err := os.WriteFile(path, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	// The fixture's clock is fixed at the start of the test; node signs
	// with the real clock, which is a few seconds later at most.
	cmd := exec.CommandContext(ctx, node, path)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "JWK="+string(priv), "CLIENT_ID="+c.ID, "AUD="+f.srv.TokenURL())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	f.clock.Set(time.Now())
	assertionJWT := strings.TrimSpace(string(out))
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"system/Observation.rs system/Patient.rs"},
		"client_assertion_type": {AssertionType}, "client_assertion": {assertionJWT}}
	code, body, _ := f.post("/auth/token", form)
	if code != 200 || body["scope"] != "system/Observation.rs" {
		t.Fatalf("%d %v", code, body)
	}
	if _, err := f.authenticate(str(body["access_token"])); err != nil {
		t.Fatal(err)
	}
	// The same assertion again is a replay.
	if code, body, _ := f.post("/auth/token", form); code != 401 || body["error"] != "invalid_client" {
		t.Fatalf("replay: %d %v", code, body)
	}
}
