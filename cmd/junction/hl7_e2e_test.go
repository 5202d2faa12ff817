package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nhs-junction/junction/internal/testenv"
)

// nodeClientPackage is the MLLP client the end-to-end test drives the
// listener with: a maintained npm package written independently of
// Junction (3.x runs on Node.js 20; 4.x needs Node.js 22).
const nodeClientPackage = "node-hl7-client@3.2.0"

// nodeSendScript sends each file named on its command line as one HL7 v2
// message with node-hl7-client, waiting for each acknowledgement (the
// client's waitAck mode), and prints one JSON line per acknowledgement.
const nodeSendScript = `
const fs = require('fs');
const { Client, Message } = require('node-hl7-client');
const [host, port, ...files] = process.argv.slice(2);
const client = new Client({ host });
let pending = null;
const conn = client.createConnection({ port: Number(port), waitAck: true, maxConnectionAttempts: 10 }, async (res) => {
  const m = res.getMessage();
  const p = pending; pending = null;
  if (p) p({ msa1: m.get('MSA.1').toString(), msa2: m.get('MSA.2').toString(), ack: m.toString() });
});
(async () => {
  for (const file of files) {
    const text = fs.readFileSync(file, 'utf8').replace(/\r?\n/g, '\r').replace(/\r+$/, '');
    const got = new Promise((resolve, reject) => {
      pending = resolve;
      setTimeout(() => reject(new Error('no acknowledgement for ' + file)), 30000);
    });
    await conn.sendMessage(new Message({ text }));
    console.log(JSON.stringify({ file: require('path').basename(file), ...(await got) }));
  }
  await conn.close();
  process.exit(0);
})().catch((e) => { console.error((e && e.stack) || e); process.exit(1); });
`

// nodeClient installs nodeClientPackage into a temporary directory once
// per test binary and returns that directory, with the send script in it.
// Without node and npm the test is skipped, except in CI (CI=true), where
// it fails: the end-to-end check must not silently stop running.
var nodeClientDir = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "junction-node-mllp")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"name":"junction-mllp-e2e","private":true}`), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "send.cjs"), []byte(nodeSendScript), 0o644); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "install", "--no-audit", "--no-fund", "--loglevel=error", nodeClientPackage)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("npm install %s: %v: %s", nodeClientPackage, err, out)
	}
	return dir, nil
})

func needNode(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Unavailable(t, "%s is needed for the MLLP end-to-end test: %v", tool, err)
		}
	}
	dir, err := nodeClientDir()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

type nodeAck struct {
	File string `json:"file"`
	MSA1 string `json:"msa1"`
	MSA2 string `json:"msa2"`
	Ack  string `json:"ack"`
}

// fhirSearch runs GET base/typ?query and returns the matched resources.
func fhirSearch(t *testing.T, base, typ, query string) []map[string]any {
	t.Helper()
	resp, err := http.Get(base + "/" + typ + "?" + query)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b struct {
		Entry []struct {
			Resource map[string]any `json:"resource"`
			Search   struct{ Mode string }
		} `json:"entry"`
	}
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s?%s: %d", typ, query, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, e := range b.Entry {
		if e.Search.Mode == "" || e.Search.Mode == "match" {
			out = append(out, e.Resource)
		}
	}
	return out
}

// TestHL7EndToEndNodeClient drives `junction serve --mllp` with an MLLP
// client that is not Junction's (node-hl7-client from npm): ADT and ORU
// messages get the acknowledgements the HL7 v2 rules ask for, and the
// records they carry can be read through the FHIR API.
func TestHL7EndToEndNodeClient(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	nodeDir := needNode(t)
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	addr, mllpAddr := freeAddr(t), freeAddr(t)
	srv := startServer(t, bin, addr, "--data", t.TempDir(), "--mllp", mllpAddr)
	defer func() {
		_ = srv.Process.Signal(os.Interrupt)
		_ = srv.Wait()
	}()
	msgs, err := filepath.Abs(filepath.Join("..", "..", "internal", "feed", "testdata", "messages"))
	if err != nil {
		t.Fatal(err)
	}
	files := []struct {
		name, code string
	}{
		{"01-a28-register.hl7", "CA"}, // enhanced mode: MSH-15 AL, MSH-16 NE
		{"02-a01-admit.hl7", "AA"},
		{"03-a02-transfer.hl7", "AA"},
		{"13-oru-results.hl7", "AA"},
		{"20-bad-nhs-number.hl7", "AE"},
		{"22-unsupported-event.hl7", "AR"},
		{"02-a01-admit.hl7", "AA"}, // a resend: the first acknowledgement again, not applied twice
	}
	host, port, _ := strings.Cut(mllpAddr, ":")
	args := []string{"send.cjs", host, port}
	for _, f := range files {
		args = append(args, filepath.Join(msgs, f.name))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", args...)
	cmd.Dir = nodeDir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node client: %v\n%s\n%s", err, out, stderr.String())
	}
	var acks []nodeAck
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var a nodeAck
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			t.Fatalf("client output %q: %v", sc.Text(), err)
		}
		acks = append(acks, a)
	}
	if len(acks) != len(files) {
		t.Fatalf("%d acknowledgements for %d messages:\n%s", len(acks), len(files), out)
	}
	for i, f := range files {
		a := acks[i]
		raw, _ := os.ReadFile(filepath.Join(msgs, f.name))
		controlID := strings.Split(strings.SplitN(string(raw), "\r", 2)[0], "|")[9]
		if a.File != f.name || a.MSA1 != f.code || a.MSA2 != controlID {
			t.Errorf("%s: MSA %s|%s, want %s|%s (ack %q)", f.name, a.MSA1, a.MSA2, f.code, controlID, a.Ack)
		}
		if f.code == "AE" && !strings.Contains(a.Ack, "\rERR|") {
			t.Errorf("%s: AE without ERR: %q", f.name, a.Ack)
		}
	}
	if acks[len(acks)-1].Ack != acks[1].Ack {
		t.Errorf("the resent admission was answered %q, not with its first acknowledgement %q", acks[len(acks)-1].Ack, acks[1].Ack)
	}

	base := "http://" + addr + "/fhir"
	pats := fhirSearch(t, base, "Patient", "identifier="+url.QueryEscape("https://fhir.nhs.uk/Id/nhs-number|9990000018"))
	if len(pats) != 1 {
		t.Fatalf("%d patients with NHS number 9990000018, want 1", len(pats))
	}
	pid, _ := pats[0]["id"].(string)
	if names, _ := json.Marshal(pats[0]["name"]); !bytes.Contains(names, []byte("JONES")) && !bytes.Contains(names, []byte("Jones")) {
		t.Errorf("patient name: %s", names)
	}
	encs := fhirSearch(t, base, "Encounter", "subject=Patient/"+pid)
	if len(encs) != 1 {
		t.Fatalf("%d encounters for Patient/%s, want 1 (admission and transfer of visit V0001)", len(encs), pid)
	}
	if encs[0]["status"] != "in-progress" {
		t.Errorf("encounter status %v, want in-progress", encs[0]["status"])
	}
	locs, _ := json.Marshal(encs[0]["location"])
	if !bytes.Contains(locs, []byte("CCU")) || !bytes.Contains(locs, []byte(`"completed"`)) {
		t.Errorf("encounter locations do not show the transfer to CCU: %s", locs)
	}
	obs := fhirSearch(t, base, "Observation", "subject=Patient/"+pid+"&_count=100")
	if len(obs) != 12 {
		t.Errorf("%d observations for Patient/%s, want 12 (one per OBX)", len(obs), pid)
	}
	sodium := fhirSearch(t, base, "Observation", "subject=Patient/"+pid+"&code="+url.QueryEscape("http://loinc.org|2951-2"))
	if len(sodium) != 1 {
		t.Errorf("%d sodium results by LOINC code, want 1", len(sodium))
	} else if q, _ := sodium[0]["valueQuantity"].(map[string]any); q["value"] != 139.0 || q["code"] != "mmol/L" {
		t.Errorf("sodium value %v", sodium[0]["valueQuantity"])
	}
	if reps := fhirSearch(t, base, "DiagnosticReport", "subject=Patient/"+pid); len(reps) != 1 {
		t.Errorf("%d diagnostic reports, want 1", len(reps))
	}
	// The refused message is kept with its error in the message store.
	resp, err := http.Get("http://" + addr + "/hl7/messages?control-id=PAS0020")
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Messages []struct{ Status, ErrorCode string }
	}
	_ = json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if len(list.Messages) != 1 || list.Messages[0].Status != "errored" || list.Messages[0].ErrorCode != "102" {
		t.Errorf("message store for PAS0020: %+v", list.Messages)
	}
	resp, err = http.Get("http://" + addr + "/hl7/messages?control-id=PAS0002")
	if err != nil {
		t.Fatal(err)
	}
	list.Messages = nil
	_ = json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if len(list.Messages) != 2 || list.Messages[0].Status != "duplicate" || list.Messages[1].Status != "applied" {
		t.Errorf("message store for PAS0002 (sent twice): %+v", list.Messages)
	}
}
