package mllp

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func frame(s string) string { return "\x0b" + s + "\x1c\r" }

type result struct {
	msg string
	err error
}

// readAll reads frames until a terminal error.
func readAll(r *Reader) []result {
	var out []result
	for {
		b, err := r.ReadFrame()
		if err == nil || errors.Is(err, ErrTooLarge) || errors.Is(err, ErrInterrupted) {
			out = append(out, result{string(b), err})
			continue
		}
		return append(out, result{"", err})
	}
}

func TestReadFrame(t *testing.T) {
	big := strings.Repeat("x", 100)
	tests := []struct {
		name    string
		in      string
		max     int
		want    []result
		skipped int64
	}{
		{"one frame", frame("MSH|a"), 0, []result{{"MSH|a", nil}, {"", io.EOF}}, 0},
		{"two frames in one read", frame("A") + frame("B"), 0, []result{{"A", nil}, {"B", nil}, {"", io.EOF}}, 0},
		{"empty frame", frame(""), 0, []result{{"", nil}, {"", io.EOF}}, 0},
		{"noise before", "junk\r\n" + frame("A"), 0, []result{{"A", nil}, {"", io.EOF}}, 6},
		{"noise between", frame("A") + "\n\n" + frame("B"), 0, []result{{"A", nil}, {"B", nil}, {"", io.EOF}}, 2},
		{"end block without CR", "\x0bA\x1c\x0bB\x1c", 0, []result{{"A", nil}, {"B", nil}, {"", io.EOF}}, 0},
		{"end block then LF", "\x0bA\x1c\n\x0bB\x1c\r", 0, []result{{"A", nil}, {"B", nil}, {"", io.EOF}}, 1},
		{"truncated", frame("A") + "\x0bMSH|partial", 0, []result{{"A", nil}, {"", ErrTruncated}}, 0},
		{"only start block", "\x0b", 0, []result{{"", ErrTruncated}}, 0},
		{"noise then EOF", "abc", 0, []result{{"", io.EOF}}, 3},
		{"interrupted", "\x0bMSH|lost\x0bMSH|kept\x1c\r", 0, []result{{"", ErrInterrupted}, {"MSH|kept", nil}, {"", io.EOF}}, 0},
		{"at the limit", frame(big), 100, []result{{big, nil}, {"", io.EOF}}, 0},
		{"too large then usable", frame(big+"y") + frame("B"), 100, []result{{big, ErrTooLarge}, {"B", nil}, {"", io.EOF}}, 0},
		{"CR inside message kept", frame("MSH|a\rPID|1\r"), 0, []result{{"MSH|a\rPID|1\r", nil}, {"", io.EOF}}, 0},
	}
	for _, tt := range tests {
		for _, mode := range []string{"whole", "byte-at-a-time"} {
			var src io.Reader = strings.NewReader(tt.in)
			if mode != "whole" {
				src = iotest.OneByteReader(src)
			}
			r := NewReader(src, tt.max)
			got := readAll(r)
			if len(got) != len(tt.want) {
				t.Errorf("%s/%s: got %v, want %v", tt.name, mode, got, tt.want)
				continue
			}
			for i := range got {
				if got[i].msg != tt.want[i].msg || !errors.Is(got[i].err, tt.want[i].err) {
					t.Errorf("%s/%s: frame %d = %q, %v; want %q, %v", tt.name, mode, i, got[i].msg, got[i].err, tt.want[i].msg, tt.want[i].err)
				}
			}
			if r.Skipped() != tt.skipped {
				t.Errorf("%s/%s: skipped %d, want %d", tt.name, mode, r.Skipped(), tt.skipped)
			}
		}
	}
}

// endlessFrame generates one frame of n content bytes without holding them in memory.
type endlessFrame struct {
	n, sent int
	done    bool
}

func (e *endlessFrame) Read(p []byte) (int, error) {
	if e.done {
		return 0, io.EOF
	}
	if e.sent == 0 {
		p[0] = StartBlock
		copy(p[1:], "MSH|^~\\&|A|B|C|D|2020||ADT^A01|BIG1|P|2.5\r")
		k := min(len(p), 1+len("MSH|^~\\&|A|B|C|D|2020||ADT^A01|BIG1|P|2.5\r"))
		e.sent = k
		return k, nil
	}
	if e.sent >= e.n {
		e.done = true
		p[0], p[1] = EndBlock, CR
		return 2, nil
	}
	k := min(len(p), e.n-e.sent)
	for i := range k {
		p[i] = 'x'
	}
	e.sent += k
	return k, nil
}

func TestReadFrameTooLargeBoundedMemory(t *testing.T) {
	src := &endlessFrame{n: 64 << 20} // 64 MiB message, 1 MiB limit
	r := NewReader(src, 1<<20)
	b, err := r.ReadFrame()
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v", err)
	}
	if len(b) != PrefixBytes || !bytes.HasPrefix(b, []byte("MSH|^~\\&|A|B|C|D|2020||ADT^A01|BIG1")) {
		t.Fatalf("prefix of %d bytes: %.60q", len(b), b)
	}
	if cap(b) > PrefixBytes {
		t.Errorf("held %d bytes for a 1 MiB limit", cap(b))
	}
	if _, err := r.ReadFrame(); err != io.EOF {
		t.Errorf("after the oversize frame: %v", err)
	}
	if !strings.Contains(err.Error(), "limit 1048576") {
		t.Errorf("error text %q", err)
	}
}

func TestWriteFrame(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteFrame(&buf, []byte("MSH|a\r")); err != nil || buf.String() != "\x0bMSH|a\r\x1c\r" {
		t.Fatalf("%q %v", buf.String(), err)
	}
	for _, bad := range []string{"a\x0bb", "a\x1cb"} {
		if err := WriteFrame(&buf, []byte(bad)); !errors.Is(err, ErrInvalidContent) {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
}

// FuzzReadFrame checks that any byte stream yields frames without framing bytes, that no
// frame exceeds the limit, and that the reader always terminates.
func FuzzReadFrame(f *testing.F) {
	f.Add([]byte(frame("MSH|a")+frame("B")), 16)
	f.Add([]byte("junk\x0bA\x1cB\x0b\x0bC\x1c\r\x1c\r"), 4)
	f.Add([]byte("\x0b"+strings.Repeat("y", 300)+"\x1c\r"), 10)
	f.Fuzz(func(t *testing.T, in []byte, max int) {
		if max <= 0 || max > 1<<16 {
			max = 64
		}
		r := NewReader(bytes.NewReader(in), max)
		for i := 0; ; i++ {
			if i > len(in)+1 {
				t.Fatal("more frames than input bytes")
			}
			b, err := r.ReadFrame()
			if bytes.IndexByte(b, StartBlock) >= 0 || bytes.IndexByte(b, EndBlock) >= 0 {
				t.Fatalf("frame holds a framing byte: %q", b)
			}
			if len(b) > max {
				t.Fatalf("frame of %d bytes over limit %d", len(b), max)
			}
			if err == nil || errors.Is(err, ErrTooLarge) || errors.Is(err, ErrInterrupted) {
				continue
			}
			if err != io.EOF && !errors.Is(err, ErrTruncated) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
	})
}
