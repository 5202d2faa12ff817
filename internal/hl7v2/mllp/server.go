package mllp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nhs-junction/junction/internal/hl7v2"
)

// Handler processes one message received over MLLP.
//
// HandleMessage receives the frame's content (the caller may keep it; it is not reused) and
// returns the acknowledgement to send back, without framing, or nil to send nothing (for
// example when an enhanced-mode sender asked for no accept acknowledgement). The server waits
// for HandleMessage to return and for the acknowledgement to be written before it reads the
// next message on the same connection, so messages from one connection are handled in the
// order they were sent. HandleMessage is called concurrently for different connections. ctx
// is cancelled when the server is closed forcibly; a graceful Shutdown lets it finish.
//
// To honour "nothing lost", a Handler must make the message durable before it returns an
// accepting acknowledgement (AA or CA). A panic in HandleMessage is recovered: the server logs
// it and answers AR with error code 207.
type Handler interface {
	HandleMessage(ctx context.Context, raw []byte, remote net.Addr) []byte
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, raw []byte, remote net.Addr) []byte

// HandleMessage calls f.
func (f HandlerFunc) HandleMessage(ctx context.Context, raw []byte, remote net.Addr) []byte {
	return f(ctx, raw, remote)
}

// Rejecter is an optional interface of a Handler that wants to answer frames the server
// refuses itself (today: ErrTooLarge). prefix holds the start of the message (at most
// PrefixBytes), err says why. It returns the acknowledgement to send, or nil to send none.
// Without it, the server answers with hl7v2.AckForUnparsable(prefix, "AR", err, ...).
type Rejecter interface {
	RejectMessage(ctx context.Context, prefix []byte, err error, remote net.Addr) []byte
}

// ErrServerClosed is returned by Serve and ListenAndServe after Shutdown or Close.
var ErrServerClosed = errors.New("mllp: server closed")

// Default timeouts.
const (
	// DefaultIdleTimeout closes a connection on which nothing arrives for this long.
	DefaultIdleTimeout = 5 * time.Minute
	// writeTimeout bounds the write of one acknowledgement.
	writeTimeout = 30 * time.Second
	// DefaultMaxConnections is the default bound on concurrent connections: far more than the
	// interface engines of one trust open, far fewer than would exhaust memory.
	DefaultMaxConnections = 256
	// handshakeTimeout bounds a TLS handshake.
	handshakeTimeout = 30 * time.Second
)

// Server accepts MLLP connections and hands each message to Handler. The zero value plus a
// Handler is a usable server. Fields must not change once Serve has been called.
type Server struct {
	// Handler processes each message and returns its acknowledgement. Required.
	Handler Handler
	// MaxMessageBytes bounds one message; a larger one is read, discarded and rejected with
	// AR while the connection stays open. Zero means DefaultMaxMessageBytes.
	MaxMessageBytes int
	// IdleTimeout closes a connection after this long without a byte from the peer
	// (including in the middle of a frame). Zero means DefaultIdleTimeout; negative means none.
	IdleTimeout time.Duration
	// TLSConfig, when set, makes Serve and ListenAndServe speak TLS. It must hold a
	// certificate; set ClientAuth to require client certificates.
	TLSConfig *tls.Config
	// MaxConnections bounds the connections served at once; a connection over the bound is
	// closed as soon as it is accepted (its sender retries later). Each connection may hold up
	// to MaxMessageBytes, so this bounds memory too. Zero means DefaultMaxConnections;
	// negative means no bound.
	MaxConnections int
	// Logger receives connection and error events; nil means slog.Default().
	Logger *slog.Logger

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	shutdown  atomic.Bool
	ctx       context.Context
	cancel    context.CancelFunc
}

// conn is one accepted connection. active and closed are guarded by Server.mu.
type conn struct {
	c      net.Conn
	active bool // a message is being handled or its acknowledgement written
	closed bool // Shutdown closed the connection while it was idle
}

// begin marks c busy with a message; it reports false when Shutdown has already closed c, in
// which case the message must be dropped unhandled and unacknowledged (its sender resends it).
func (s *Server) begin(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.closed {
		return false
	}
	c.active = true
	return true
}

// end marks c idle again.
func (s *Server) end(c *conn) {
	s.mu.Lock()
	c.active = false
	s.mu.Unlock()
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func (s *Server) init() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listeners == nil {
		s.listeners = map[net.Listener]struct{}{}
		s.conns = map[*conn]struct{}{}
		s.ctx, s.cancel = context.WithCancel(context.Background())
	}
}

// ListenAndServe listens on the TCP address addr and calls Serve.
func (s *Server) ListenAndServe(addr string) error {
	if s.shutdown.Load() {
		return ErrServerClosed
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(l)
}

// Serve accepts connections on l (wrapped in TLS when TLSConfig is set) and serves each in
// its own goroutine until Shutdown or Close, when it returns ErrServerClosed. Serve closes
// l when it returns.
func (s *Server) Serve(l net.Listener) error {
	if s.Handler == nil {
		return errors.New("mllp: Server.Handler is nil")
	}
	s.init()
	if s.TLSConfig != nil {
		l = tls.NewListener(l, s.TLSConfig)
	}
	s.mu.Lock()
	if s.shutdown.Load() {
		s.mu.Unlock()
		l.Close()
		return ErrServerClosed
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
		l.Close()
	}()

	var backoff time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			if s.shutdown.Load() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Transient (for example too many open files): back off as net/http does.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.logger().Warn("mllp: accept failed; retrying", "err", err, "delay", backoff)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		c := &conn{c: nc}
		s.mu.Lock()
		if s.shutdown.Load() {
			s.mu.Unlock()
			nc.Close()
			return ErrServerClosed
		}
		if limit := s.maxConnections(); limit > 0 && len(s.conns) >= limit {
			s.mu.Unlock()
			s.logger().Warn("mllp: connection refused: too many connections", "remote", nc.RemoteAddr().String(), "limit", limit)
			nc.Close()
			continue
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		go s.serveConn(c)
	}
}

// Shutdown stops the server gracefully: it closes the listeners, closes connections that
// are waiting for a message, lets every message being handled finish and its
// acknowledgement be written, then closes those connections too. A message whose frame was
// still arriving when its connection closed was never acknowledged, so its sender resends
// it. Shutdown returns nil once every connection is closed, or ctx.Err() if ctx ends first
// (connections still busy are then left to finish; call Close to cut them).
func (s *Server) Shutdown(ctx context.Context) error {
	s.init()
	s.shutdown.Store(true)
	s.mu.Lock()
	for l := range s.listeners {
		l.Close()
	}
	s.mu.Unlock()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if s.closeIdle() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// closeIdle closes connections not handling a message and reports whether none remain.
func (s *Server) closeIdle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if !c.active && !c.closed {
			c.closed = true
			c.c.Close()
		}
	}
	return len(s.conns) == 0
}

// Close stops the server at once: it closes the listeners and every connection and
// cancels the context passed to handlers. Messages being handled get no acknowledgement, so
// their senders resend them.
func (s *Server) Close() error {
	s.init()
	s.shutdown.Store(true)
	s.cancel()
	s.mu.Lock()
	for l := range s.listeners {
		l.Close()
	}
	for c := range s.conns {
		c.c.Close()
	}
	s.mu.Unlock()
	return nil
}

func (s *Server) maxConnections() int {
	if s.MaxConnections == 0 {
		return DefaultMaxConnections
	}
	return s.MaxConnections
}

func (s *Server) idleTimeout() time.Duration {
	switch {
	case s.IdleTimeout == 0:
		return DefaultIdleTimeout
	case s.IdleTimeout < 0:
		return 0
	}
	return s.IdleTimeout
}

// serveConn reads, handles and acknowledges messages on one connection, one at a time.
func (s *Server) serveConn(c *conn) {
	log := s.logger().With("remote", c.c.RemoteAddr().String())
	defer func() {
		c.c.Close()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
	if tc, ok := c.c.(*tls.Conn); ok {
		ctx, cancel := context.WithTimeout(s.ctx, handshakeTimeout)
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			log.Warn("mllp: TLS handshake failed", "err", err)
			return
		}
	}
	idle := s.idleTimeout()
	r := NewReader(&deadlineReader{c: c.c, timeout: idle}, s.MaxMessageBytes)
	log.Debug("mllp: connection opened")
	for {
		skipped := r.Skipped()
		raw, err := r.ReadFrame()
		if n := r.Skipped() - skipped; n > 0 {
			log.Warn("mllp: discarded bytes outside any frame", "bytes", n)
		}
		var ack []byte
		switch {
		case err == nil:
			if !s.begin(c) {
				return
			}
			ack = s.handle(log, raw, c.c.RemoteAddr())
		case errors.Is(err, ErrTooLarge):
			if !s.begin(c) {
				return
			}
			log.Warn("mllp: message too large; rejected", "err", err)
			ack = s.reject(log, raw, err, c.c.RemoteAddr())
		case errors.Is(err, ErrInterrupted):
			log.Warn("mllp: incomplete frame dropped", "err", err)
			continue
		default:
			var ne net.Error
			switch {
			case errors.Is(err, ErrTruncated):
				log.Warn("mllp: connection closed inside a frame; message dropped unacknowledged")
			case errors.As(err, &ne) && ne.Timeout():
				log.Info("mllp: idle connection closed", "timeout", idle)
			default:
				log.Debug("mllp: connection closed", "err", err)
			}
			return
		}
		if ack != nil {
			werr := c.c.SetWriteDeadline(time.Now().Add(writeTimeout))
			if werr == nil {
				werr = WriteFrame(c.c, ack)
			}
			if werr != nil {
				log.Warn("mllp: acknowledgement not sent", "err", werr)
				return
			}
		}
		s.end(c)
		if s.shutdown.Load() {
			return
		}
	}
}

// handle calls the Handler, turning a panic into an AR.
func (s *Server) handle(log *slog.Logger, raw []byte, remote net.Addr) (ack []byte) {
	defer func() {
		if p := recover(); p != nil {
			log.Error("mllp: handler panicked; answered AR", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			ack = hl7v2.AckForUnparsable(raw, hl7v2.AR, errInternal, "", time.Now())
		}
	}()
	return s.Handler.HandleMessage(s.ctx, raw, remote)
}

// reject answers a frame the server refused itself.
func (s *Server) reject(log *slog.Logger, prefix []byte, err error, remote net.Addr) (ack []byte) {
	rj, ok := s.Handler.(Rejecter)
	if !ok {
		return hl7v2.AckForUnparsable(prefix, hl7v2.AR, err, "", time.Now())
	}
	defer func() {
		if p := recover(); p != nil {
			log.Error("mllp: reject handler panicked; answered AR", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			ack = hl7v2.AckForUnparsable(prefix, hl7v2.AR, err, "", time.Now())
		}
	}()
	return rj.RejectMessage(s.ctx, prefix, err, remote)
}

// errInternal is the text a sender sees when the handler failed; the detail stays in the log.
var errInternal = errors.New("application internal error")

// deadlineReader extends the read deadline before every read, so a connection is closed only
// after timeout without any byte from the peer.
type deadlineReader struct {
	c       net.Conn
	timeout time.Duration
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	if d.timeout > 0 {
		if err := d.c.SetReadDeadline(time.Now().Add(d.timeout)); err != nil {
			return 0, err
		}
	}
	return d.c.Read(p)
}
