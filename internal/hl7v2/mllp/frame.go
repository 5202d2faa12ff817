// Package mllp implements the Minimal Lower Layer Protocol that carries HL7 v2 messages over
// TCP (HL7 v2.5.1 Appendix C, "Lower Layer Protocols", MLLP release 1): each message travels
// as a start block 0x0B, the message bytes, an end block 0x1C and a carriage return 0x0D.
// MLLP has no length prefix, checksum or encryption; run it over TLS (Server.TLSConfig) or a
// private network such as HSCN.
//
// A Server reads frames from many connections at once, hands each message to a Handler and
// writes the acknowledgement the Handler returns before it reads the next frame on that
// connection, so each connection is processed in order (the sender waits for the
// acknowledgement of one message before it sends the next, HL7 v2.5.1 section 2.9.2). A
// Client sends one message at a time and waits for its acknowledgement.
package mllp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Framing bytes (HL7 v2.5.1 Appendix C.4.2).
const (
	StartBlock byte = 0x0B // <SB>, vertical tab
	EndBlock   byte = 0x1C // <EB>, file separator
	CR         byte = 0x0D // carriage return, follows EndBlock
)

// DefaultMaxMessageBytes bounds a message when no other limit is given: 16 MiB, room for a
// laboratory report carrying a base64 PDF (OBX type ED) while keeping one connection's
// memory bounded.
const DefaultMaxMessageBytes = 16 << 20

// PrefixBytes is how much of an oversize message a Reader keeps: enough for the MSH segment
// (whose fields HL7 v2.5.1 section 2.14.9 bounds to a few hundred bytes), so that a reject can
// still name the message it refuses.
const PrefixBytes = 4096

var (
	// ErrTooLarge is returned by Reader.ReadFrame, with the first PrefixBytes of the message,
	// when a frame exceeds the maximum size. The rest of the frame has been read and discarded,
	// so the connection remains usable: answer with a reject (AR) built from the prefix and
	// carry on.
	ErrTooLarge = errors.New("mllp: message exceeds the maximum size")
	// ErrTruncated is returned when the stream ends inside a frame. The partial message was
	// never acknowledged, so the sender will resend it; drop it and close the connection.
	ErrTruncated = errors.New("mllp: stream ended inside a frame")
	// ErrInterrupted is returned when a start block arrives before the current frame's end
	// block: the sender abandoned a message and started another. The abandoned bytes are
	// dropped (the sender had no acknowledgement for them) and the next ReadFrame returns the
	// new message; do not answer.
	ErrInterrupted = errors.New("mllp: frame interrupted by a new start block")
	// ErrInvalidContent is returned by WriteFrame for a message containing a start or end block
	// byte, which would corrupt the framing.
	ErrInvalidContent = errors.New("mllp: message contains a framing byte (0x0B or 0x1C)")
)

// Reader reads MLLP frames from a stream. It holds at most the maximum message size (plus
// its buffer) in memory, whatever the peer sends. A Reader is not safe for concurrent use.
type Reader struct {
	br       *bufio.Reader
	max      int
	skipped  int64
	pending  bool // a start block was consumed while reading the previous frame
	afterEnd bool // the last frame's end block was not yet followed by its carriage return
}

// NewReader returns a Reader of frames of at most maxMessageBytes bytes of content
// (DefaultMaxMessageBytes when maxMessageBytes <= 0).
func NewReader(r io.Reader, maxMessageBytes int) *Reader {
	if maxMessageBytes <= 0 {
		maxMessageBytes = DefaultMaxMessageBytes
	}
	return &Reader{br: bufio.NewReaderSize(r, 32<<10), max: maxMessageBytes}
}

// Skipped returns how many bytes outside frames the Reader has discarded so far (noise
// before a start block, or stray line ends after an end block).
func (r *Reader) Skipped() int64 { return r.skipped }

// ReadFrame returns the content of the next frame, without its framing bytes, in a newly
// allocated slice. Bytes before the start block are discarded and counted by Skipped. An end
// block not followed by a carriage return still ends the frame (the byte that follows is then
// treated as being outside any frame).
//
// Errors: io.EOF when the stream ends between frames; ErrTruncated when it ends inside one;
// ErrInterrupted when a new start block cuts a frame short; ErrTooLarge, together with the
// first PrefixBytes of the content, when the frame exceeds the maximum size; any error of the
// underlying reader (for example a deadline), after which the Reader must not be used.
func (r *Reader) ReadFrame() ([]byte, error) {
	if !r.pending {
		if err := r.skipToStart(); err != nil {
			return nil, err
		}
	}
	r.pending = false
	var (
		frame  []byte
		size   int
		tooBig bool
	)
	add := func(body []byte) {
		size += len(body)
		switch {
		case tooBig:
		case size > r.max:
			tooBig = true
			keep := min(PrefixBytes, r.max)
			if len(frame) < keep {
				frame = append(frame, body[:min(len(body), keep-len(frame))]...)
			}
			// Copy the prefix so the buffer that held up to the limit can be released now.
			frame = append(make([]byte, 0, keep), frame[:min(len(frame), keep)]...)
		default:
			frame = append(frame, body...)
		}
	}
	for {
		if _, err := r.br.Peek(1); err != nil {
			if errors.Is(err, io.EOF) {
				return nil, ErrTruncated
			}
			return nil, err
		}
		data, _ := r.br.Peek(r.br.Buffered())
		limit := len(data)
		eb := bytes.IndexByte(data, EndBlock)
		if eb >= 0 {
			limit = eb
		}
		if sb := bytes.IndexByte(data[:limit], StartBlock); sb >= 0 {
			// The sender abandoned this frame and started another: drop what was read and
			// leave the reader just after the new start block.
			_, _ = r.br.Discard(sb + 1)
			r.pending = true
			return nil, ErrInterrupted
		}
		add(data[:limit])
		if eb < 0 {
			_, _ = r.br.Discard(limit)
			continue
		}
		_, _ = r.br.Discard(limit + 1)
		break
	}
	// Consume the carriage return that completes the end block when it is already buffered.
	// Waiting for it could block forever on a sender that ends frames with the end block
	// alone and waits for the acknowledgement; when it arrives later, skipToStart drops it
	// without counting it as noise.
	r.afterEnd = true
	if r.br.Buffered() > 0 {
		if b, _ := r.br.Peek(1); b[0] == CR {
			_, _ = r.br.Discard(1)
			r.afterEnd = false
		}
	}
	if tooBig {
		return frame, fmt.Errorf("%w (%d bytes, limit %d)", ErrTooLarge, size, r.max)
	}
	if frame == nil {
		frame = []byte{}
	}
	return frame, nil
}

// skipToStart discards bytes up to and including the next start block.
func (r *Reader) skipToStart() error {
	if r.afterEnd {
		r.afterEnd = false
		if b, err := r.br.Peek(1); err == nil && b[0] == CR {
			_, _ = r.br.Discard(1)
		}
	}
	for {
		chunk, err := r.br.ReadSlice(StartBlock)
		if err == nil {
			r.skipped += int64(len(chunk) - 1)
			return nil
		}
		r.skipped += int64(len(chunk))
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return err
	}
}

// WriteFrame writes msg as one MLLP frame in a single Write call. It refuses a message that
// contains a start or end block byte with ErrInvalidContent.
func WriteFrame(w io.Writer, msg []byte) error {
	if bytes.IndexByte(msg, StartBlock) >= 0 || bytes.IndexByte(msg, EndBlock) >= 0 {
		return ErrInvalidContent
	}
	buf := make([]byte, 0, len(msg)+3)
	buf = append(buf, StartBlock)
	buf = append(buf, msg...)
	buf = append(buf, EndBlock, CR)
	_, err := w.Write(buf)
	return err
}
