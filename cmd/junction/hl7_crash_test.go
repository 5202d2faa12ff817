package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nhs-junction/junction/internal/hl7v2/mllp"
	"github.com/nhs-junction/junction/internal/identity/nhsnumber"
	"github.com/nhs-junction/junction/internal/testenv"
)

// TestHL7CrashDurability streams HL7 v2 messages to `junction serve
// --mllp` from several connections, kills the server with SIGKILL in the
// middle, restarts it on the same database and resends what was not
// acknowledged AA (and, as a sender unsure of its last acknowledgement
// would, the last message acknowledged on each connection). Every message
// acknowledged AA before the kill must be stored and applied, and at the
// end every message is applied exactly once: one applied row per control
// id in the message store, and one version of every resource.
func TestHL7CrashDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	backends := map[string][]string{"sqlite": {"--data", t.TempDir()}}
	if url := testenv.PostgresURL(t); url != "" {
		backends["postgres"] = []string{"--database", url}
	}
	for name, args := range backends {
		t.Run(name, func(t *testing.T) { hl7CrashOnce(t, bin, args) })
	}
}

// crashMsg is one message of the stream.
type crashMsg struct {
	controlID string
	raw       []byte
	adt       bool
}

// crashPair is the admission and the results (three OBX) of patient i on
// connection c.
func crashPair(c, i int) []crashMsg {
	id := fmt.Sprintf("%d-%d", c, i)
	nhs := nhsnumber.FromSerial(700_000 + c*10_000 + i)
	adt := fmt.Sprintf("MSH|^~\\&|PAS|RCRASH|JUNCTION|JUNCTION|20250301090000||ADT^A01^ADT_A01|A%s|P|2.4\r"+
		"EVN|A01|20250301085900\r"+
		"PID|1||M%s^^^RCRASH^MR~%s^^^NHS^NH||CRASH^Test||19700101|F\r"+
		"PV1|1|I|WARD 1^Bay 1^Bed 1^RCRASH|||||||GEN|||||||||V%s^^^RCRASH^VN|||||||||||||||||||||||||20250301085500\r", id, id, nhs, id)
	oru := fmt.Sprintf("MSH|^~\\&|LAB|RCRASH|JUNCTION|JUNCTION|20250301100000||ORU^R01^ORU_R01|O%s|P|2.4\r"+
		"PID|1||M%s^^^RCRASH^MR~%s^^^NHS^NH||CRASH^Test||19700101|F\r"+
		"OBR|1|P%s|F%s|UE^Urea and electrolytes^WinPath|||20250301093000||||||||||||||||||F\r"+
		"OBX|1|NM|NA^Sodium^WinPath||139|mmol/L|133-146|N|||F\r"+
		"OBX|2|NM|K^Potassium^WinPath||4.1|mmol/L|3.5-5.3|N|||F\r"+
		"OBX|3|NM|UREA^Urea^WinPath||5.2|mmol/L|2.5-7.8|N|||F\r", id, id, nhs, id, id)
	return []crashMsg{{"A" + id, []byte(adt), true}, {"O" + id, []byte(oru), false}}
}

func msa1(ack []byte) string {
	for _, seg := range bytes.Split(ack, []byte("\r")) {
		if f := strings.Split(string(seg), "|"); len(f) > 1 && f[0] == "MSA" {
			return f[1]
		}
	}
	return ""
}

func hl7CrashOnce(t *testing.T, bin string, args []string) {
	addr, mllpAddr := freeAddr(t), freeAddr(t)
	args = append(args, "--mllp", mllpAddr)
	srv := startServer(t, bin, addr, args...)
	const conns = 6
	// Per connection: the messages acknowledged AA, in order, and the one
	// in flight when the server died (nil when none).
	acked := make([][]crashMsg, conns)
	inFlight := make([]*crashMsg, conns)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl, err := mllp.Dial(context.Background(), mllpAddr, nil)
			if err != nil {
				t.Errorf("connection %d: %v", c, err)
				return
			}
			defer cl.Close()
			for i := 0; ; i++ {
				for _, m := range crashPair(c, i) {
					select {
					case <-stop:
						return
					default:
					}
					inFlight[c] = &m
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					ack, err := cl.Send(ctx, m.raw)
					cancel()
					if err != nil {
						return // the server is gone; m stays in flight
					}
					if code := msa1(ack); code != "AA" {
						t.Errorf("%s: %s before the crash: %q", m.controlID, code, ack)
						return
					}
					inFlight[c] = nil
					acked[c] = append(acked[c], m)
				}
			}
		}()
	}
	time.Sleep(2 * time.Second)
	if err := srv.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_ = srv.Wait()
	close(stop)
	wg.Wait()
	total := 0
	for c := range conns {
		total += len(acked[c])
	}
	if total == 0 {
		t.Fatal("no message was acknowledged before the kill")
	}

	srv = startServer(t, bin, addr, args...)
	defer func() {
		_ = srv.Process.Signal(os.Interrupt)
		_ = srv.Wait()
	}()
	web := "http://" + addr
	// Every message acknowledged AA is stored as applied.
	applied := appliedRows(t, web)
	for c := range conns {
		for _, m := range acked[c] {
			if applied[m.controlID] != 1 {
				t.Errorf("%s was acknowledged AA before the kill but has %d applied rows after restart", m.controlID, applied[m.controlID])
			}
		}
	}
	// The sender resends what was not acknowledged, and the last message
	// that was.
	cl := map[int]*mllp.Client{}
	for c := range conns {
		var resend []crashMsg
		if n := len(acked[c]); n > 0 {
			resend = append(resend, acked[c][n-1])
		}
		if inFlight[c] != nil {
			resend = append(resend, *inFlight[c])
		}
		for _, m := range resend {
			if cl[c] == nil {
				var err error
				if cl[c], err = mllp.Dial(context.Background(), mllpAddr, nil); err != nil {
					t.Fatal(err)
				}
				defer cl[c].Close()
			}
			ack, err := cl[c].Send(context.Background(), m.raw)
			if err != nil {
				t.Fatalf("resend %s: %v", m.controlID, err)
			}
			if code := msa1(ack); code != "AA" {
				t.Errorf("resend %s: %s %q", m.controlID, code, ack)
			}
			if inFlight[c] != nil && m.controlID == inFlight[c].controlID {
				acked[c] = append(acked[c], m)
			}
		}
	}
	// Each message is applied exactly once, and each resource it wrote
	// has exactly one version.
	applied = appliedRows(t, web)
	wantADT, wantORU := 0, 0
	for c := range conns {
		for _, m := range acked[c] {
			if applied[m.controlID] != 1 {
				t.Errorf("%s: %d applied rows, want 1", m.controlID, applied[m.controlID])
			}
			delete(applied, m.controlID)
			if m.adt {
				wantADT++
			} else {
				wantORU++
			}
		}
	}
	for id, n := range applied {
		t.Errorf("%s applied %d times but never acknowledged AA", id, n)
	}
	for typ, want := range map[string]int{"Patient": wantADT, "Encounter": wantADT, "DiagnosticReport": wantORU, "Observation": 3 * wantORU} {
		versions := typeHistory(t, web+"/fhir/"+typ+"/_history?_count=1000")
		if len(versions) != want {
			t.Errorf("%d %s resources, want %d", len(versions), typ, want)
		}
		for id, n := range versions {
			if n != 1 {
				t.Errorf("%s/%s has %d versions: a message was applied twice", typ, id, n)
			}
		}
	}
	pending := 0
	for _, m := range inFlight {
		if m != nil {
			pending++
		}
	}
	t.Logf("%d messages acknowledged across %d connections (%d in flight at SIGKILL, resent), restart: each applied once", wantADT+wantORU, conns, pending)
}

// appliedRows counts the applied rows of the message store per control id.
func appliedRows(t *testing.T, web string) map[string]int {
	t.Helper()
	out := map[string]int{}
	next := "/hl7/messages?status=applied&_count=1000"
	for next != "" {
		resp, err := http.Get(web + next)
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Messages []struct{ ControlID string }
			Next     string
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("message store: %d %v", resp.StatusCode, err)
		}
		for _, m := range page.Messages {
			out[m.ControlID]++
		}
		next = page.Next
	}
	return out
}

// typeHistory counts the versions of each resource in a type's history,
// following the next links.
func typeHistory(t *testing.T, url string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for url != "" {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		var b struct {
			Link []struct {
				Relation, URL string
			}
			Entry []struct {
				Resource struct{ ID string }
				Request  struct{ URL string }
			}
		}
		err = json.NewDecoder(resp.Body).Decode(&b)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
		}
		for _, e := range b.Entry {
			id := e.Resource.ID
			if id == "" { // a deletion: no resource, the id is in request.url
				_, id, _ = strings.Cut(e.Request.URL, "/")
			}
			out[id]++
		}
		url = ""
		for _, l := range b.Link {
			if l.Relation == "next" {
				url = l.URL
			}
		}
	}
	return out
}
