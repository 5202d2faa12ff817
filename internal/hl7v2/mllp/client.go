package mllp

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"time"
)

// DefaultAckTimeout bounds the wait for an acknowledgement when the context has no deadline.
const DefaultAckTimeout = 30 * time.Second

// ErrClientBroken is returned by Send after an earlier Send failed: the connection's state is
// unknown (a late acknowledgement could be taken for the next message's), so dial again.
var ErrClientBroken = errors.New("mllp: connection unusable after an earlier error; dial again")

// Client sends messages over one MLLP connection, one at a time, in HL7 original-mode style:
// Send writes a message and waits for the frame that answers it. It is safe for concurrent
// use; concurrent Sends are serialised.
type Client struct {
	// AckTimeout bounds each Send when its context has no deadline; zero means
	// DefaultAckTimeout. Set it before the first Send.
	AckTimeout time.Duration

	mu     sync.Mutex
	conn   net.Conn
	r      *Reader
	broken bool
}

// Dial connects to addr over TCP, or TLS when tlsConfig is not nil (the handshake completes
// before Dial returns).
func Dial(ctx context.Context, addr string, tlsConfig *tls.Config) (*Client, error) {
	var (
		c   net.Conn
		err error
	)
	if tlsConfig != nil {
		d := tls.Dialer{Config: tlsConfig}
		c, err = d.DialContext(ctx, "tcp", addr)
	} else {
		var d net.Dialer
		c, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, err
	}
	return NewClient(c), nil
}

// NewClient returns a Client over an established connection, which it then owns.
func NewClient(c net.Conn) *Client {
	return &Client{conn: c, r: NewReader(c, DefaultMaxMessageBytes)}
}

// Send frames msg, writes it and returns the content of the next frame the peer sends, which
// for HL7 is the acknowledgement (check its MSA-2 against msg's MSH-10). It gives up when ctx
// ends or, without a deadline in ctx, after AckTimeout. After any error the Client is broken
// and later Sends return ErrClientBroken.
func (c *Client) Send(ctx context.Context, msg []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken {
		return nil, ErrClientBroken
	}
	if _, ok := ctx.Deadline(); !ok {
		timeout := c.AckTimeout
		if timeout <= 0 {
			timeout = DefaultAckTimeout
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	deadline, _ := ctx.Deadline()
	_ = c.conn.SetDeadline(deadline)
	// Cancellation without a deadline change (ctx cancelled early) unblocks I/O too.
	stop := context.AfterFunc(ctx, func() { _ = c.conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	if err := WriteFrame(c.conn, msg); err != nil {
		if !errors.Is(err, ErrInvalidContent) {
			c.broken = true
		}
		return nil, c.ctxErr(ctx, err)
	}
	for {
		ack, err := c.r.ReadFrame()
		if errors.Is(err, ErrInterrupted) {
			continue
		}
		if err != nil {
			c.broken = true
			return nil, c.ctxErr(ctx, err)
		}
		return ack, nil
	}
}

// ctxErr prefers the context's error when the I/O failed because the context ended.
func (c *Client) ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return errors.Join(ctx.Err(), err)
	}
	return err
}

// Close closes the connection.
func (c *Client) Close() error {
	// Close the connection first so that a Send blocked in a read returns at once.
	err := c.conn.Close()
	c.mu.Lock()
	c.broken = true
	c.mu.Unlock()
	return err
}
