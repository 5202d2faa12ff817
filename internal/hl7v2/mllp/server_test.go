package mllp

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nhs-junction/junction/internal/hl7v2"
)

// testMsg is an ADT^A01 with control id id.
func testMsg(id string) []byte {
	return []byte("MSH|^~\\&|PAS|RCB|JUNCTION|X26|20240501120000||ADT^A01^ADT_A01|" + id + "|P|2.5\rPID|1||9990500002^^^NHS^NH\r")
}

// ackHandler parses each message and answers AA, or AR for what does not parse.
func ackHandler() Handler {
	return HandlerFunc(func(ctx context.Context, raw []byte, remote net.Addr) []byte {
		m, err := hl7v2.Parse(raw)
		if err != nil {
			return hl7v2.AckForUnparsable(raw, hl7v2.AR, err, "", time.Now())
		}
		return hl7v2.Ack(m, hl7v2.AA, nil, "", time.Now())
	})
}

// logBuffer collects log output safely across goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// start runs s on a loopback port and returns its address, the log, and a channel that
// receives Serve's result. The server is closed when the test ends.
func start(t *testing.T, s *Server) (string, *logBuffer, chan error) {
	t.Helper()
	logs := &logBuffer{}
	if s.Logger == nil {
		s.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	t.Cleanup(func() { s.Close() })
	return l.Addr().String(), logs, done
}

func dial(t *testing.T, addr string) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func send(t *testing.T, c *Client, msg []byte) *hl7v2.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	raw, err := c.Send(ctx, msg)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	a, err := hl7v2.Parse(raw)
	if err != nil {
		t.Fatalf("ack does not parse: %v (%q)", err, raw)
	}
	return a
}

func TestServerRoundTrip(t *testing.T) {
	addr, _, _ := start(t, &Server{Handler: ackHandler()})
	c := dial(t, addr)
	for i := range 3 {
		id := fmt.Sprintf("M%d", i)
		a := send(t, c, testMsg(id))
		if a.Get("MSA-1") != "AA" || a.Get("MSA-2") != id {
			t.Errorf("ack %d: %s %s", i, a.Get("MSA-1"), a.Get("MSA-2"))
		}
	}
	// A message that does not parse is answered AR on the same connection.
	a := send(t, c, []byte("MSH|^~\\&|PAS|RCB|J|X|2024||ADT^A01|BAD1|P|2.5||||||ISO IR87\r"))
	if a.Get("MSA-1") != "AR" || a.Get("MSA-2") != "BAD1" || a.Get("ERR-3") != "103" {
		t.Errorf("reject: %s %s %s", a.Get("MSA-1"), a.Get("MSA-2"), a.Get("ERR-3"))
	}
}

func TestServerConcurrentConnectionsInOrder(t *testing.T) {
	var (
		mu    sync.Mutex
		order = map[string][]string{} // remote address -> control ids in handling order
	)
	h := HandlerFunc(func(ctx context.Context, raw []byte, remote net.Addr) []byte {
		m, err := hl7v2.Parse(raw)
		if err != nil {
			return hl7v2.AckForUnparsable(raw, hl7v2.AR, err, "", time.Now())
		}
		mu.Lock()
		order[remote.String()] = append(order[remote.String()], m.ControlID())
		mu.Unlock()
		time.Sleep(time.Millisecond) // let connections interleave
		return hl7v2.Ack(m, hl7v2.AA, nil, "", time.Now())
	})
	addr, _, _ := start(t, &Server{Handler: h})
	const conns, perConn = 12, 8
	var wg sync.WaitGroup
	errs := make(chan error, conns*perConn)
	for c := range conns {
		wg.Go(func() {
			cl, err := Dial(context.Background(), addr, nil)
			if err != nil {
				errs <- err
				return
			}
			defer cl.Close()
			for i := range perConn {
				id := fmt.Sprintf("C%d-%d", c, i)
				raw, err := cl.Send(context.Background(), testMsg(id))
				if err != nil {
					errs <- err
					return
				}
				if a, err := hl7v2.Parse(raw); err != nil || a.Get("MSA-2") != id {
					errs <- fmt.Errorf("ack for %s: %q", id, raw)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(order) != conns {
		t.Fatalf("%d connections seen, want %d", len(order), conns)
	}
	for remote, ids := range order {
		prefix := strings.SplitN(ids[0], "-", 2)[0]
		for i, id := range ids {
			if id != fmt.Sprintf("%s-%d", prefix, i) {
				t.Fatalf("%s handled out of order: %v", remote, ids)
			}
		}
	}
}

func TestServerIdleTimeout(t *testing.T) {
	addr, logs, _ := start(t, &Server{Handler: ackHandler(), IdleTimeout: 150 * time.Millisecond})
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	// Half a frame, then silence: the idle timeout applies inside frames too.
	if _, err := nc.Write([]byte("\x0bMSH|^~\\&|")); err != nil {
		t.Fatal(err)
	}
	startAt := time.Now()
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := nc.Read(make([]byte, 10))
	if n != 0 || err == nil {
		t.Fatalf("read %d bytes, err %v; want the server to close", n, err)
	}
	if d := time.Since(startAt); d < 100*time.Millisecond || d > 3*time.Second {
		t.Errorf("closed after %v", d)
	}
	waitFor(t, func() bool { return strings.Contains(logs.String(), "idle connection closed") })
}

func TestServerOversizeRejectedConnectionUsable(t *testing.T) {
	var calls atomic.Int32
	h := HandlerFunc(func(ctx context.Context, raw []byte, remote net.Addr) []byte {
		calls.Add(1)
		return ackHandler().HandleMessage(ctx, raw, remote)
	})
	addr, _, _ := start(t, &Server{Handler: h, MaxMessageBytes: 2048})
	c := dial(t, addr)
	huge := append(testMsg("HUGE1"), []byte("OBX|1|ED|PDF||"+strings.Repeat("QUJD", 50_000)+"\r")...)
	a := send(t, c, huge)
	if a.Get("MSA-1") != "AR" || a.Get("MSA-2") != "HUGE1" || a.Get("ERR-3") != "207" || !strings.Contains(a.Get("ERR-8"), "exceeds the maximum size") {
		t.Errorf("oversize reply: %q", a.Raw())
	}
	if calls.Load() != 0 {
		t.Error("the handler saw an oversize message")
	}
	if a := send(t, c, testMsg("NEXT")); a.Get("MSA-1") != "AA" || a.Get("MSA-2") != "NEXT" {
		t.Errorf("connection not usable after a reject: %q", a.Raw())
	}
}

// rejecter answers oversize messages itself.
type rejecter struct{ Handler }

func (rejecter) RejectMessage(ctx context.Context, prefix []byte, err error, remote net.Addr) []byte {
	return hl7v2.AckForUnparsable(prefix, hl7v2.CR, err, "OWN", time.Now())
}

func TestServerRejecter(t *testing.T) {
	addr, _, _ := start(t, &Server{Handler: rejecter{ackHandler()}, MaxMessageBytes: 100})
	c := dial(t, addr)
	a := send(t, c, append(testMsg("BIG"), strings.Repeat("x", 200)...))
	if a.Get("MSA-1") != "CR" || a.ControlID() != "OWN" {
		t.Errorf("Rejecter not used: %q", a.Raw())
	}
}

func TestServerGarbageTruncatedAndInterrupted(t *testing.T) {
	var calls atomic.Int32
	h := HandlerFunc(func(ctx context.Context, raw []byte, remote net.Addr) []byte {
		calls.Add(1)
		return ackHandler().HandleMessage(ctx, raw, remote)
	})
	addr, logs, _ := start(t, &Server{Handler: h})

	// Noise before a frame and an abandoned frame: one acknowledgement, for the real message.
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	payload := "GET / HTTP/1.1\r\n\r\n" + "\x0bMSH|^~\\&|abandoned" + "\x0b" + string(testMsg("REAL")) + "\x1c\r"
	if _, err := nc.Write([]byte(payload)); err != nil {
		t.Fatal(err)
	}
	r := NewReader(nc, 0)
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	ack, err := r.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	if a, err := hl7v2.Parse(ack); err != nil || a.Get("MSA-2") != "REAL" {
		t.Fatalf("ack %q", ack)
	}
	if calls.Load() != 1 {
		t.Errorf("handler called %d times", calls.Load())
	}
	waitFor(t, func() bool {
		return strings.Contains(logs.String(), "discarded bytes outside any frame") && strings.Contains(logs.String(), "bytes=18") &&
			strings.Contains(logs.String(), "incomplete frame dropped")
	})

	// A frame cut short by the sender closing: no handler call, no crash.
	nc2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nc2.Write([]byte("\x0b" + string(testMsg("CUT"))[:30])); err != nil {
		t.Fatal(err)
	}
	nc2.Close()
	waitFor(t, func() bool { return strings.Contains(logs.String(), "closed inside a frame") })
	if calls.Load() != 1 {
		t.Errorf("truncated frame reached the handler")
	}
	// The server still serves.
	if a := send(t, dial(t, addr), testMsg("AFTER")); a.Get("MSA-1") != "AA" {
		t.Errorf("server unusable: %q", a.Raw())
	}
}

func TestServerHandlerPanic(t *testing.T) {
	h := HandlerFunc(func(ctx context.Context, raw []byte, remote net.Addr) []byte {
		if bytes.Contains(raw, []byte("|BOOM|")) {
			panic("handler bug with secret detail")
		}
		return ackHandler().HandleMessage(ctx, raw, remote)
	})
	addr, logs, _ := start(t, &Server{Handler: h})
	c := dial(t, addr)
	a := send(t, c, testMsg("BOOM"))
	if a.Get("MSA-1") != "AR" || a.Get("MSA-2") != "BOOM" || a.Get("ERR-3") != "207" {
		t.Errorf("panic reply: %q", a.Raw())
	}
	if strings.Contains(string(a.Raw()), "secret") {
		t.Error("panic detail sent to the peer")
	}
	if !strings.Contains(logs.String(), "handler panicked") || !strings.Contains(logs.String(), "secret detail") {
		t.Error("panic not logged")
	}
	if a := send(t, c, testMsg("OK")); a.Get("MSA-1") != "AA" {
		t.Error("connection unusable after a panic")
	}
	if a := send(t, dial(t, addr), testMsg("OK2")); a.Get("MSA-1") != "AA" {
		t.Error("listener down after a panic")
	}
}

func TestServerNoReply(t *testing.T) {
	h := HandlerFunc(func(ctx context.Context, raw []byte, remote net.Addr) []byte {
		m, err := hl7v2.Parse(raw)
		if err != nil {
			return nil
		}
		if _, accept, _ := hl7v2.AckMode(m); !hl7v2.AckWanted(accept, true) {
			return nil
		}
		return hl7v2.Ack(m, hl7v2.CA, nil, "", time.Now())
	})
	addr, _, _ := start(t, &Server{Handler: h})
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	never := bytes.Replace(testMsg("QUIET"), []byte("|P|2.5\r"), []byte("|P|2.5|||NE|AL\r"), 1)
	always := bytes.Replace(testMsg("LOUD"), []byte("|P|2.5\r"), []byte("|P|2.5|||AL|AL\r"), 1)
	for _, m := range [][]byte{never, always} {
		if err := WriteFrame(nc, m); err != nil {
			t.Fatal(err)
		}
	}
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	ack, err := NewReader(nc, 0).ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	if a, err := hl7v2.Parse(ack); err != nil || a.Get("MSA-2") != "LOUD" || a.Get("MSA-1") != "CA" {
		t.Errorf("first reply should answer LOUD: %q", ack)
	}
}

func TestServerTLS(t *testing.T) {
	serverCfg, clientCfg := selfSigned(t)
	addr, _, _ := start(t, &Server{Handler: ackHandler(), TLSConfig: serverCfg})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, addr, clientCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if a := send(t, c, testMsg("TLS1")); a.Get("MSA-1") != "AA" || a.Get("MSA-2") != "TLS1" {
		t.Errorf("TLS ack %q", a.Raw())
	}
	// A client that does not trust the certificate fails the handshake.
	if _, err := Dial(ctx, addr, &tls.Config{ServerName: "localhost"}); err == nil {
		t.Error("untrusted certificate accepted")
	}
	// Plain MLLP to a TLS port gets no acknowledgement.
	plain := dial(t, addr)
	sctx, scancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer scancel()
	if _, err := plain.Send(sctx, testMsg("PLAIN")); err == nil {
		t.Error("plain-text message acknowledged by a TLS server")
	}
}

// selfSigned makes a certificate for localhost/127.0.0.1 and the configurations that use it.
func selfSigned(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "junction-test"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
	client = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return server, client
}

func TestServerGracefulShutdown(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	h := HandlerFunc(func(ctx context.Context, raw []byte, remote net.Addr) []byte {
		if bytes.Contains(raw, []byte("|SLOW|")) {
			close(entered)
			<-release
		}
		return ackHandler().HandleMessage(ctx, raw, remote)
	})
	s := &Server{Handler: h}
	addr, _, served := start(t, s)
	busy := dial(t, addr)
	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	if a := send(t, dial(t, addr), testMsg("WARM")); a.Get("MSA-1") != "AA" {
		t.Fatal("server not ready")
	}

	ackc := make(chan *hl7v2.Message, 1)
	go func() {
		raw, err := busy.Send(context.Background(), testMsg("SLOW"))
		if err != nil {
			t.Errorf("in-flight message lost its ack: %v", err)
			ackc <- nil
			return
		}
		a, _ := hl7v2.Parse(raw)
		ackc <- a
	}()
	<-entered

	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()

	// The idle connection is closed and new connections are refused while SLOW is in flight.
	_ = idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := idle.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Error("idle connection left open during shutdown")
	}
	waitFor(t, func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned before the in-flight message finished: %v", err)
	case <-time.After(100 * time.Millisecond):
	}

	close(release)
	if a := <-ackc; a == nil || a.Get("MSA-1") != "AA" || a.Get("MSA-2") != "SLOW" {
		t.Fatalf("in-flight ack: %v", a)
	}
	select {
	case err := <-shut:
		if err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not return")
	}
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve returned %v", err)
	}
	if err := s.ListenAndServe("127.0.0.1:0"); !errors.Is(err, ErrServerClosed) {
		t.Errorf("ListenAndServe after Shutdown: %v", err)
	}
}

func TestShutdownDeadline(t *testing.T) {
	entered := make(chan struct{})
	h := HandlerFunc(func(ctx context.Context, raw []byte, remote net.Addr) []byte {
		close(entered)
		<-ctx.Done() // only Close cancels it
		return nil
	})
	s := &Server{Handler: h}
	addr, _, _ := start(t, s)
	c := dial(t, addr)
	go func() { _, _ = c.Send(context.Background(), testMsg("STUCK")) }()
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown = %v, want deadline exceeded", err)
	}
	s.Close() // cancels the handler's context
}

func TestClientTimeoutBreaksClient(t *testing.T) {
	h := HandlerFunc(func(ctx context.Context, raw []byte, remote net.Addr) []byte { return nil })
	addr, _, _ := start(t, &Server{Handler: h})
	c := dial(t, addr)
	c.AckTimeout = 100 * time.Millisecond
	if _, err := c.Send(context.Background(), testMsg("A")); err == nil {
		t.Fatal("Send without reply returned no error")
	}
	if _, err := c.Send(context.Background(), testMsg("B")); !errors.Is(err, ErrClientBroken) {
		t.Errorf("second Send: %v", err)
	}
	c2 := dial(t, addr)
	if _, err := c2.Send(context.Background(), []byte("a\x1cb")); !errors.Is(err, ErrInvalidContent) {
		t.Errorf("framing byte: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	if _, err := c2.Send(ctx, testMsg("C")); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Send: %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestServerMaxConnections(t *testing.T) {
	addr, logs, _ := start(t, &Server{Handler: ackHandler(), MaxConnections: 2})
	a, b := dial(t, addr), dial(t, addr)
	send(t, a, testMsg("A"))
	send(t, b, testMsg("B"))
	third := dial(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := third.Send(ctx, testMsg("C")); err == nil {
		t.Error("connection over the bound was served")
	}
	waitFor(t, func() bool { return strings.Contains(logs.String(), "too many connections") })
	a.Close()
	waitFor(t, func() bool {
		c, err := Dial(context.Background(), addr, nil)
		if err != nil {
			return false
		}
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err = c.Send(ctx, testMsg("D"))
		return err == nil
	})
}
