package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/nhs-junction/junction/internal/app"
	"github.com/nhs-junction/junction/internal/config"
	"github.com/nhs-junction/junction/internal/feed"
	"github.com/nhs-junction/junction/internal/hl7v2"
	"github.com/nhs-junction/junction/internal/hl7v2/mllp"
)

// runHL7 is `junction hl7 send|replay`.
func runHL7(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const usage = "Usage: junction hl7 send --addr HOST:PORT FILE...\n       junction hl7 replay [--data DIR | --database URL] [--status errored] [--since T]"
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return exitError(2)
	}
	switch args[0] {
	case "send":
		return runHL7Send(ctx, args[1:], stdout, stderr)
	case "replay":
		return runHL7Replay(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	fmt.Fprintln(stderr, usage)
	return exitError(2)
}

// hl7Messages splits a file into messages: a batch file (FHS/BHS) into
// its messages, anything else is one message. Line ends become CR, the
// HL7 segment terminator.
func hl7Messages(b []byte) ([][]byte, error) {
	b = bytes.TrimPrefix(b, []byte{0xEF, 0xBB, 0xBF})
	b = bytes.ReplaceAll(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\r")), []byte("\n"), []byte("\r"))
	b = bytes.Trim(b, "\r")
	if bytes.HasPrefix(b, []byte("FHS")) || bytes.HasPrefix(b, []byte("BHS")) {
		ms, err := hl7v2.ParseBatch(b)
		if err != nil {
			return nil, err
		}
		var out [][]byte
		for _, m := range ms {
			out = append(out, append(bytes.Clone(m.Raw()), '\r'))
		}
		return out, nil
	}
	return [][]byte{append(b, '\r')}, nil
}

func runHL7Send(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("hl7 send", "junction hl7 send --addr HOST:PORT [--tls] [--ca FILE] [--batch] FILE...",
		"Sends HL7 v2 messages over MLLP, one per file or each message of a batch file (FHS/BHS),\n"+
			"waiting for each acknowledgement, and prints its MSA and ERR segments. Exits 1 when\n"+
			"any message is not accepted (AE, AR, CE, CR) or not acknowledged. With --batch, a batch\n"+
			"file goes as it is in one frame and the acknowledgement batch that answers it is printed.", stderr)
	addr := fs.String("addr", "127.0.0.1:2575", "HOST:PORT of the MLLP listener")
	useTLS := fs.Bool("tls", false, "connect with TLS")
	caFile := fs.String("ca", "", "PEM file of the CA that signed the listener's certificate (with --tls; default: the system roots)")
	timeout := fs.Duration("timeout", 30*time.Second, "how long to wait for each acknowledgement")
	whole := fs.Bool("batch", false, "send each batch file (FHS/BHS) whole in one frame instead of message by message")
	cfg := config.Defaults()
	if err := cfg.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return exitError(2)
	}
	var tc *tls.Config
	if *useTLS {
		tc = &tls.Config{MinVersion: tls.VersionTLS12}
		if *caFile != "" {
			pem, err := os.ReadFile(*caFile)
			if err != nil {
				return err
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return fmt.Errorf("%s holds no PEM certificate", *caFile)
			}
			tc.RootCAs = pool
		}
	}
	var conn net.Conn
	var err error
	if tc != nil {
		d := tls.Dialer{Config: tc}
		conn, err = d.DialContext(ctx, "tcp", *addr)
	} else {
		var d net.Dialer
		conn, err = d.DialContext(ctx, "tcp", *addr)
	}
	if err != nil {
		return err
	}
	defer conn.Close()
	r := mllp.NewReader(conn, mllp.DefaultMaxMessageBytes)
	failed := 0
	for _, path := range fs.Args() {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if *whole && hl7v2.IsBatch(b) {
			n, err := sendBatch(conn, r, path, b, *timeout, stdout)
			if err != nil {
				return err
			}
			failed += n
			continue
		}
		msgs, err := hl7Messages(b)
		if err != nil {
			fmt.Fprintf(stdout, "%s: not sent: %v\n", path, err)
			failed++
			continue
		}
		for i, msg := range msgs {
			name := path
			if len(msgs) > 1 {
				name = fmt.Sprintf("%s[%d]", path, i+1)
			}
			_ = conn.SetDeadline(time.Now().Add(*timeout))
			if err := mllp.WriteFrame(conn, msg); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if m, err := hl7v2.Parse(msg); err == nil {
				// Enhanced mode with NE for both acknowledgements: the
				// receiver sends nothing back (HL7 v2.5.1 2.9.3).
				if enhanced, accept, app := hl7v2.AckMode(m); enhanced && accept == "NE" && app == "NE" {
					fmt.Fprintf(stdout, "%s: sent (MSH-15 and MSH-16 ask for no acknowledgement)\n", name)
					continue
				}
			}
			ack, err := r.ReadFrame()
			if err != nil {
				return fmt.Errorf("%s: no acknowledgement: %w", name, err)
			}
			code := printAck(stdout, name, ack)
			if code != hl7v2.AA && code != hl7v2.CA {
				failed++
			}
		}
	}
	if failed > 0 {
		fmt.Fprintf(stdout, "%d message(s) not accepted\n", failed)
		return exitError(1)
	}
	return nil
}

// sendBatch sends a batch file in one frame and prints each
// acknowledgement of the batch that answers it; it returns how many
// messages were not accepted (a batch answered without an acknowledgement
// for each message counts those as accepted: HL7 v2.5.1 2.10.3).
func sendBatch(conn net.Conn, r *mllp.Reader, path string, b []byte, timeout time.Duration, stdout io.Writer) (int, error) {
	b = bytes.ReplaceAll(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\r")), []byte("\n"), []byte("\r"))
	_ = conn.SetDeadline(time.Now().Add(timeout))
	if err := mllp.WriteFrame(conn, b); err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	ack, err := r.ReadFrame()
	if err != nil {
		return 0, fmt.Errorf("%s: no acknowledgement: %w", path, err)
	}
	if !hl7v2.IsBatch(ack) {
		if code := printAck(stdout, path, ack); code != hl7v2.AA && code != hl7v2.CA {
			return 1, nil
		}
		return 0, nil
	}
	acks, err := hl7v2.ParseBatch(ack)
	if err != nil {
		fmt.Fprintf(stdout, "%s: unreadable acknowledgement batch (%v): %q\n", path, err, ack)
		return 1, nil
	}
	failed := 0
	fmt.Fprintf(stdout, "%s: acknowledgement batch of %d\n", path, len(acks))
	for i, a := range acks {
		if code := printAck(stdout, fmt.Sprintf("%s[%d]", path, i+1), a.Raw()); code != hl7v2.AA && code != hl7v2.CA {
			failed++
		}
	}
	return failed, nil
}

// printAck prints an acknowledgement's MSA and ERR readably and returns
// MSA-1.
func printAck(w io.Writer, name string, ack []byte) string {
	m, err := hl7v2.Parse(ack)
	if err != nil {
		fmt.Fprintf(w, "%s: unreadable acknowledgement (%v): %q\n", name, err, ack)
		return ""
	}
	code, ctl, text := m.Get("MSA-1"), m.Get("MSA-2"), m.Get("MSA-3")
	fmt.Fprintf(w, "%s: %s %s", name, code, ctl)
	if text != "" {
		fmt.Fprintf(w, " %s", text)
	}
	fmt.Fprintln(w)
	for _, e := range m.All("ERR") {
		// ERR-1 (v2.3/2.4: segment^seq^field^code&text) or ERR-2/3 (v2.5+).
		if loc := e.Get("2"); loc != "" || e.Get("3") != "" {
			fmt.Fprintf(w, "  ERR %s-%s: %s %s %s\n", e.Get("2.1"), e.Get("2.3"), e.Get("3.1"), e.Get("3.2"), e.Get("8"))
		} else {
			fmt.Fprintf(w, "  ERR %s-%s: %s %s\n", e.Get("1.1"), e.Get("1.3"), e.Get("1.4.1"), e.Get("1.4.2"))
		}
	}
	return code
}

func runHL7Replay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := config.Defaults()
	fs := newFlagSet("hl7 replay", "junction hl7 replay [--data DIR | --database URL] [--status errored] [--since T] [--hl7-mapping FILE]",
		"Applies the stored HL7 v2 messages that errored again (after the mapping or the data was\n"+
			"fixed), oldest first, each at most once, and prints each outcome. Exits 1 when any still errors.", stderr)
	cfg.StoreFlags(fs)
	cfg.LogFlags(fs)
	status := fs.String("status", feed.StatusErrored, "status of the messages to replay (only errored can be replayed)")
	since := fs.String("since", "", "only messages received at or after this time (RFC 3339 or YYYY-MM-DD)")
	fs.StringVar(&cfg.HL7Mapping, "hl7-mapping", cfg.HL7Mapping, "HL7 v2 mapping file (JSON)")
	if err := cfg.Parse(fs, args); err != nil {
		return err
	}
	opts := feed.ReplayOptions{Status: *status}
	if *since != "" {
		t, err := parseSince(*since)
		if err != nil {
			return err
		}
		opts.Since = t
	}
	st, err := app.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	svc, err := app.NewService(ctx, st, cfg)
	if err != nil {
		return err
	}
	f, err := app.NewFeed(cfg, st, svc, app.NewLogger(cfg, stderr))
	if err != nil {
		return err
	}
	stats, err := f.Replay(ctx, opts, func(r *feed.Record, out feed.Outcome) {
		line := fmt.Sprintf("message %d %s^%s %s from %s|%s: %s", r.ID, r.Type, r.Trigger, r.ControlID, r.SendingApp, r.SendingFacility, out.Status)
		if out.Err != nil {
			line += ": " + out.Err.Error()
		}
		fmt.Fprintln(stdout, line)
	})
	fmt.Fprintf(stdout, "replayed: %d applied, %d still errored, %d already applied elsewhere\n", stats.Applied, stats.Errored, stats.Skipped)
	if err != nil {
		return err
	}
	if stats.Errored > 0 {
		return exitError(1)
	}
	return nil
}

func parseSince(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("--since %q is not an RFC 3339 time or a date (YYYY-MM-DD)", s)
}
