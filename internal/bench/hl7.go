package bench

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/nhs-junction/junction/internal/app"
	"github.com/nhs-junction/junction/internal/config"
	"github.com/nhs-junction/junction/internal/hl7v2"
	"github.com/nhs-junction/junction/internal/hl7v2/mllp"
	"github.com/nhs-junction/junction/internal/identity/nhsnumber"
)

// hl7Connections is how many MLLP connections the hl7 scenario drives,
// each waiting for the acknowledgement of one message before it sends
// the next (as senders do).
const hl7Connections = 8

// hl7 sends ADT^A01 and ORU^R01 messages over MLLP to a listener feeding
// a fresh embedded store, from hl7Connections connections for the run's
// duration, and reports messages/s and acknowledgement latency against a
// listener that only frames, parses and acknowledges.
func (b *bench) hl7(ctx context.Context) error {
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("junction-bench-hl7-%d", time.Now().UnixNano()))
	if b.opts.Dir != "" {
		dir = filepath.Join(b.opts.Dir, filepath.Base(dir))
	}
	defer os.RemoveAll(dir)
	cfg := config.Defaults()
	cfg.Data, cfg.Validation = dir, b.opts.Validation
	st, err := app.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	svc, err := app.NewService(ctx, st, cfg)
	if err != nil {
		return err
	}
	f, err := app.NewFeed(cfg, st, svc, nil)
	if err != nil {
		return err
	}
	bare := mllp.HandlerFunc(func(_ context.Context, raw []byte, _ net.Addr) []byte {
		m, err := hl7v2.Parse(raw)
		if err != nil {
			return hl7v2.AckForUnparsable(raw, hl7v2.AR, err, "", time.Now())
		}
		return hl7v2.Ack(m, hl7v2.AA, nil, "", time.Now())
	})
	cpu0 := processCPU()
	base, err := driveMLLP(ctx, bare, b.opts.Duration, "base")
	if err != nil {
		return err
	}
	cpu1 := processCPU()
	srv, err := driveMLLP(ctx, f, b.opts.Duration, "feed")
	if err != nil {
		return err
	}
	cpu2 := processCPU()
	// CPU time per message (server and senders, which share the process)
	// says what a message costs whatever else the machine is running,
	// which the rate on a shared machine does not.
	perMsg := func(d time.Duration, r run) float64 {
		if r.n == 0 {
			return 0
		}
		return float64(d.Microseconds()) / 1000 / float64(r.n)
	}
	b.logf("hl7: %.0f messages/s (listener that only acknowledges: %.0f), ack p50 %.2f ms, p99 %.2f ms (%.2f, %.2f), CPU %.2f ms/message (%.3f), %d not AA",
		srv.perSecond(), base.perSecond(), srv.pct(0.5), srv.pct(0.99), base.pct(0.5), base.pct(0.99), perMsg(cpu2-cpu1, srv), perMsg(cpu1-cpu0, base), srv.errs)
	b.add(against("hl7.messages_per_s", srv.perSecond(), "msg/s", base.perSecond()),
		against("hl7.ack_p50", srv.pct(0.5), "ms", base.pct(0.5)),
		against("hl7.ack_p99", srv.pct(0.99), "ms", base.pct(0.99)),
		against("hl7.cpu_per_message", perMsg(cpu2-cpu1, srv), "ms", perMsg(cpu1-cpu0, base)))
	b.add(b.errResults("hl7", srv)...)
	return nil
}

// driveMLLP serves h on a loopback listener and sends messages to it from
// hl7Connections connections for d: per patient an ADT^A01 then an
// ORU^R01 with five results, each with a fresh control id.
func driveMLLP(ctx context.Context, h mllp.Handler, d time.Duration, tag string) (run, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return run{}, err
	}
	srv := &mllp.Server{Handler: h}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	var (
		mu  sync.Mutex
		all run
		wg  sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(d)
	for c := range hl7Connections {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl, err := mllp.Dial(ctx, ln.Addr().String(), nil)
			if err != nil {
				mu.Lock()
				all.errs++
				all.firstErr = err.Error()
				mu.Unlock()
				return
			}
			defer cl.Close()
			var local run
			for i := 0; time.Now().Before(deadline); i++ {
				serial := (c*1_000_000 + i) % nhsnumber.Serials
				for _, msg := range hl7Pair(tag, c, i, nhsnumber.FromSerial(serial)) {
					t0 := time.Now()
					ack, err := cl.Send(ctx, msg)
					if err != nil {
						local.errs++
						local.firstErr = err.Error()
						break
					}
					if !bytes.Contains(ack, []byte("MSA|AA|")) {
						local.errs++
						if local.firstErr == "" {
							local.firstErr = string(ack)
						}
						continue
					}
					local.n++
					local.lat = append(local.lat, time.Since(t0))
				}
			}
			mu.Lock()
			all.n += local.n
			all.errs += local.errs
			all.lat = append(all.lat, local.lat...)
			if all.firstErr == "" {
				all.firstErr = local.firstErr
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	all.elapsed = time.Since(start)
	slices.Sort(all.lat)
	return all, nil
}

// hl7Pair is one patient's admission and results, NHS ITK v2.4 shaped.
func hl7Pair(tag string, c, i int, nhs string) [][]byte {
	id := fmt.Sprintf("%s%d-%d", tag, c, i)
	adt := fmt.Sprintf("MSH|^~\\&|PAS|RBENCH|JUNCTION|JUNCTION|20250301090000||ADT^A01^ADT_A01|A%s|P|2.4\r"+
		"EVN|A01|20250301085900\r"+
		"PID|1||M%s^^^RBENCH^MR~%s^^^NHS^NH||SMITH^Jane^^^Mrs^^L||19700101|F|||1 High Street^^Leeds^^LS1 1AA^GBR^H\r"+
		"PV1|1|I|WARD 1^Bay 1^Bed 1^RBENCH|||||||GEN|||||||||V%s^^^RBENCH^VN|||||||||||||||||||||||||20250301085500\r", id, id, nhs, id)
	oru := fmt.Sprintf("MSH|^~\\&|LAB|RBENCH|JUNCTION|JUNCTION|20250301100000||ORU^R01^ORU_R01|O%s|P|2.4\r"+
		"PID|1||M%s^^^RBENCH^MR~%s^^^NHS^NH||SMITH^Jane||19700101|F\r"+
		"OBR|1|P%s|F%s|UE^Urea and electrolytes^WinPath|||20250301093000||||||||||||||||||F\r"+
		"OBX|1|NM|NA^Sodium^WinPath||139|mmol/L|133-146|N|||F\r"+
		"OBX|2|NM|K^Potassium^WinPath||4.1|mmol/L|3.5-5.3|N|||F\r"+
		"OBX|3|NM|UREA^Urea^WinPath||5.2|mmol/L|2.5-7.8|N|||F\r"+
		"OBX|4|NM|CREA^Creatinine^WinPath||78|umol/L|49-92|N|||F\r"+
		"OBX|5|NM|EGFR^eGFR^WinPath||90|mL/min/1.73m2|>60||||F\r", id, id, nhs, id, id)
	return [][]byte{[]byte(adt), []byte(oru)}
}

// processCPU is the CPU time (user and system) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
