package hl7v2

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzParse checks that Parse and ParseBatch never panic, that every error is a *ParseError
// carrying a sentinel and a position inside the input, and that any message they accept can be
// read at arbitrary paths and acknowledged with a reply that parses back and names it.
func FuzzParse(f *testing.F) {
	seeds := []string{
		mshADT + "\rPID|1||3333333333^^^NHS^NH~X&Y\\T\\Z||A\\F\\B\\XE9\\\\.br\\",
		"MSH#$*!@#A#B#C#D#2020##ORU$R01#C9#P#2.5\rOBX#1##x$y*z@w",
		"FHS|^~\\&\rBHS|^~\\&\r" + mshN("1") + "\rBTS|1\rFTS|1",
		"\xEF\xBB\xBFMSH|^~\\&|A|B|C|D|2020||ADT^A01|1|P|2.3.1||||||8859/1\rPID|1||\xE9",
		"MSH|^~\\&|A|B|C|D|2020||ADT^A01|1|P|2.5||||||UNICODE UTF-8\rPID|1||\xFF",
		"MSH|^~\\&#|A|B|C|D|2020||ADT^A01|1|P|2.7\rNTE|1||a\\P\\b",
		"MSH|^~\\&|A",
		"",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	if files, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "data", "hl7v2", "*.hl7")); len(files) > 0 {
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	paths := []string{"MSH-1", "MSH-2", "MSH-9.2", "PID-3(2).4.2", "OBX(2)-5", "PID-99(99).99.99", "ZZZ(3)-1"}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := Parse(raw)
		checkErr(t, raw, err)
		msgs, berr := ParseBatch(raw)
		checkErr(t, raw, berr)
		if err == nil && berr == nil && len(msgs) != 1 {
			t.Fatalf("Parse accepted one message, ParseBatch found %d", len(msgs))
		}
		ack := AckForUnparsable(raw, AR, err, "R", now)
		if bytes.ContainsAny(ack, "\x0b\x1c\n") {
			t.Fatalf("reject holds framing or LF bytes: %q", ack)
		}
		// The answer to a batch is itself a batch holding every ACK.
		var acks [][]byte
		if berr != nil {
			acks = [][]byte{AckForUnparsable(raw, AR, berr, "R", now)}
		}
		for _, bm := range msgs {
			acks = append(acks, Ack(bm, AA, nil, "A", now))
		}
		batch := BatchAck(raw, acks, "comment|^~\\&", "B", now)
		if bytes.ContainsAny(batch, "\x0b\x1c\n") {
			t.Fatalf("batch ack holds framing or LF bytes: %q", batch)
		}
		readable := true
		for _, a := range acks {
			if _, err := Parse(a); err != nil {
				readable = false // an AR echoing what was refused (an unsupported MSH-12)
			}
		}
		if back, err := ParseBatch(batch); readable && (err != nil || len(back) != len(acks)) {
			t.Fatalf("batch ack of %d acks reads back as %d: %v\n%q", len(acks), len(back), err, batch)
		}
		if err != nil {
			return
		}
		for _, p := range paths {
			_ = m.Get(p)
		}
		for _, s := range m.Segments {
			for i := 1; i <= s.Fields(); i++ {
				for _, r := range s.Field(i).Reps() {
					for _, c := range r.Components() {
						_ = c.Subs()
					}
				}
			}
		}
		reply := Ack(m, AE, []AckError{{Segment: "PID", Field: 3, Code: ErrorDataType, Text: m.Get("PID-5")}}, "A", now)
		if bytes.ContainsAny(reply, "\x0b\x1c\n") {
			t.Fatalf("ack holds framing or LF bytes: %q", reply)
		}
		a, aerr := Parse(reply)
		if aerr != nil {
			t.Fatalf("ack of an accepted message does not parse: %v\n%q", aerr, reply)
		}
		if id := m.ControlID(); !strings.ContainsFunc(id, func(r rune) bool { return r < 0x20 || r == 0x7f }) &&
			len(id) < maxEcho && strings.TrimSpace(a.Get("MSA-2")) != id {
			t.Fatalf("MSA-2 %q, control id %q", a.Get("MSA-2"), id)
		}
	})
}

func checkErr(t *testing.T, raw []byte, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error %T is not a *ParseError: %v", err, err)
	}
	if pe.Err == nil || !errors.Is(err, pe.Err) {
		t.Fatalf("error without sentinel: %v", err)
	}
	if pe.Position < 0 || pe.Position > len(raw) {
		t.Fatalf("position %d outside input of %d bytes", pe.Position, len(raw))
	}
}
