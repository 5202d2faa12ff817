package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nhs-junction/junction/internal/testenv"
)

// buildBinary compiles junction once per test binary run.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "junction-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "junction")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v: %s", err, out)
	}
	return bin, nil
})

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServer runs `junction serve` with args and waits until /readyz answers.
func startServer(t *testing.T, bin, addr string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--addr", addr, "--log-level", "warn", "--auth", "off"}, args...)...)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return cmd
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	t.Fatal("server did not become ready")
	return nil
}

// TestCrashDurability kills the server with SIGKILL in the middle of a
// stream of writes, restarts it on the same database, and checks that
// every write that was acknowledged is there and the database still works.
func TestCrashDurability(t *testing.T) {
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
		t.Run(name, func(t *testing.T) {
			crashOnce(t, bin, args)
		})
	}
}

func crashOnce(t *testing.T, bin string, args []string) {
	addr := freeAddr(t)
	srv := startServer(t, bin, addr, args...)
	base := "http://" + addr + "/fhir"
	prefix := fmt.Sprintf("crash%d", time.Now().UnixNano()%1e9)

	// acked[id] is the highest version the server acknowledged for id,
	// with the counter value that version carried.
	type ack struct {
		version int
		counter int
	}
	var (
		mu    sync.Mutex
		acked = map[string]ack{}
		wg    sync.WaitGroup
		stop  = make(chan struct{})
	)
	client := &http.Client{Timeout: 5 * time.Second}
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("%s-%d-%d", prefix, w, n%5)
				body := fmt.Sprintf(`{"resourceType":"Patient","id":%q,"name":[{"family":"Crash","given":["c%d"]}]}`, id, n)
				req, _ := http.NewRequest("PUT", base+"/Patient/"+id, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/fhir+json")
				resp, err := client.Do(req)
				if err != nil {
					return // the server is gone
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 && resp.StatusCode != 201 {
					continue
				}
				var v int
				fmt.Sscanf(resp.Header.Get("ETag"), `W/"%d"`, &v)
				mu.Lock()
				if v > acked[id].version {
					acked[id] = ack{v, n}
				}
				mu.Unlock()
			}
		}(w)
	}
	time.Sleep(1500 * time.Millisecond)
	if err := srv.Process.Kill(); err != nil { // SIGKILL: no chance to flush anything
		t.Fatal(err)
	}
	_ = srv.Wait()
	close(stop)
	wg.Wait()
	if len(acked) == 0 {
		t.Fatal("no write was acknowledged before the kill")
	}

	srv = startServer(t, bin, addr, args...)
	defer func() {
		_ = srv.Process.Signal(os.Interrupt)
		_ = srv.Wait()
	}()
	for id, a := range acked {
		resp, err := http.Get(fmt.Sprintf("%s/Patient/%s/_history/%d", base, id, a.version))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Contains(b, []byte(fmt.Sprintf(`"c%d"`, a.counter))) {
			t.Errorf("acknowledged write %s version %d (c%d) lost after crash: %d %s", id, a.version, a.counter, resp.StatusCode, b)
		}
		resp, err = http.Get(base + "/Patient/" + id)
		if err != nil {
			t.Fatal(err)
		}
		var cur struct{ Meta struct{ VersionID string } }
		json.NewDecoder(resp.Body).Decode(&cur)
		resp.Body.Close()
		var v int
		fmt.Sscan(cur.Meta.VersionID, &v)
		if v < a.version {
			t.Errorf("%s: current version %d is older than acknowledged %d", id, v, a.version)
		}
	}
	// The database still takes writes and serves history after recovery.
	req, _ := http.NewRequest("PUT", base+"/Patient/"+prefix+"-after", strings.NewReader(`{"resourceType":"Patient","id":"`+prefix+`-after"}`))
	req.Header.Set("Content-Type", "application/fhir+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("write after recovery: %v %v", err, resp)
	}
	resp.Body.Close()
	resp, err = http.Get(base + "/_history?_count=1000")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("history after recovery: %v %v", err, resp)
	}
	resp.Body.Close()
	t.Logf("%d resources acknowledged before SIGKILL; all present after restart", len(acked))
}
