package audit

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/nhs-junction/junction/internal/store"
	"github.com/nhs-junction/junction/internal/store/postgres"
	"github.com/nhs-junction/junction/internal/store/sqlite"
	"github.com/nhs-junction/junction/internal/testenv"
)

const crashEnv = "JUNCTION_AUDIT_CRASH_CHILD"

// TestCrashRestart kills a process with SIGKILL while it writes
// AuditEvents and integrates them, then restarts on the same database:
// the untampered log verifies cleanly, and the restarted integrator takes
// up the queue left behind.
func TestCrashRestart(t *testing.T) {
	if os.Getenv(crashEnv) != "" {
		t.Skip("the child process")
	}
	if testing.Short() {
		t.Skip("starts and kills a process")
	}
	targets := map[string]string{"sqlite": "sqlite:" + t.TempDir()}
	if u := testenv.PostgresURL(t); u != "" {
		targets["postgres"] = "postgres:" + u
	}
	for name, target := range targets {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.v")
			cmd.Env = append(os.Environ(), crashEnv+"="+target)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Kill it once it has integrated some leaves and is writing more.
			sc := bufio.NewScanner(out)
			integrated := false
			for sc.Scan() {
				if strings.HasPrefix(sc.Text(), "integrated ") {
					integrated = true
					break
				}
			}
			time.Sleep(200 * time.Millisecond)
			cmd.Process.Kill()
			cmd.Wait()
			if !integrated {
				t.Fatal("the child never integrated")
			}

			st := openTarget(t, target)
			rep := verifyStore(t, st, nil)
			if !rep.OK() {
				t.Fatalf("after the crash: %v", rep.Problems)
			}
			t.Logf("after the crash: %d leaves, %d queued, %d AuditEvents", rep.Leaves, rep.Queued, rep.Events)
			l := openLog(t, st)
			integrate(t, l)
			rep = verifyStore(t, st, nil)
			if !rep.OK() || rep.Queued != 0 || int(rep.Leaves) != rep.Events || rep.Checkpoint.Size != rep.Leaves {
				t.Fatalf("after restart: %+v", rep)
			}
		})
	}
}

// TestCrashChild is the process TestCrashRestart kills: it writes
// AuditEvents in small transactions while its integrator runs, until
// killed.
func TestCrashChild(t *testing.T) {
	target := os.Getenv(crashEnv)
	if target == "" {
		t.Skip("run by TestCrashRestart")
	}
	st := openTarget(t, target)
	l, err := Open(context.Background(), st, Options{Origin: "test.example/log", Interval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	go l.Run(context.Background())
	for i := 0; ; i++ {
		writeEvents(t, st, fmt.Sprintf("c%d", i), 3, 3)
		if i%20 == 19 {
			if cp, err := l.Checkpoint(context.Background()); err == nil && cp.Size > 0 {
				fmt.Printf("integrated %d\n", cp.Size)
			}
		}
	}
}

func openTarget(t *testing.T, target string) store.Store {
	kind, where, _ := strings.Cut(target, ":")
	var st store.Store
	var err error
	if kind == "sqlite" {
		st, err = sqlite.Open(context.Background(), where)
	} else {
		st, err = postgres.Open(context.Background(), where)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
