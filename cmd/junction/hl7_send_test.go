package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nhs-junction/junction/internal/hl7v2"
	"github.com/nhs-junction/junction/internal/hl7v2/mllp"
)

// TestHL7SendBatch: `hl7 send --batch` sends a batch file in one frame and
// prints each acknowledgement of the batch that answers it; without
// --batch the file goes message by message.
func TestHL7SendBatch(t *testing.T) {
	var frames atomic.Int32
	h := mllp.HandlerFunc(func(_ context.Context, raw []byte, _ net.Addr) []byte {
		frames.Add(1)
		now := time.Now()
		if !hl7v2.IsBatch(raw) {
			m, err := hl7v2.Parse(raw)
			if err != nil {
				return hl7v2.AckForUnparsable(raw, hl7v2.AR, err, "X", now)
			}
			return hl7v2.Ack(m, hl7v2.AA, nil, "X", now)
		}
		msgs, err := hl7v2.ParseBatch(raw)
		if err != nil {
			return hl7v2.BatchAck(raw, [][]byte{hl7v2.AckForUnparsable(raw, hl7v2.AR, err, "X", now)}, "refused", "B", now)
		}
		var acks [][]byte
		for i, m := range msgs {
			code := hl7v2.AA
			if i == 1 {
				code = hl7v2.AE
			}
			acks = append(acks, hl7v2.Ack(m, code, nil, "X", now))
		}
		return hl7v2.BatchAck(raw, acks, "", "B", now)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &mllp.Server{Handler: h}
	go srv.Serve(ln)
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "batch.hl7")
	batch := "FHS|^~\\&|PAS|RX1\nBHS|^~\\&|PAS|RX1\n" +
		"MSH|^~\\&|PAS|RX1|J|J|20250301||ADT^A28|C1|P|2.4\nPID|1||1^^^RX1^MR\n" +
		"MSH|^~\\&|PAS|RX1|J|J|20250301||ADT^A28|C2|P|2.4\nPID|1||2^^^RX1^MR\nBTS|2\nFTS|1\n"
	if err := os.WriteFile(file, []byte(batch), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = runHL7Send(context.Background(), []string{"--batch", "--addr", ln.Addr().String(), file}, &out, &out)
	if frames.Load() != 1 || err == nil || !strings.Contains(out.String(), "acknowledgement batch of 2") ||
		!strings.Contains(out.String(), "[1]: AA C1") || !strings.Contains(out.String(), "[2]: AE C2") {
		t.Fatalf("--batch: %d frames, err %v, output:\n%s", frames.Load(), err, out.String())
	}
	frames.Store(0)
	out.Reset()
	_ = runHL7Send(context.Background(), []string{"--addr", ln.Addr().String(), file}, &out, &out)
	if frames.Load() != 2 || !strings.Contains(out.String(), "[1]: AA C1") || !strings.Contains(out.String(), "[2]: AA C2") {
		t.Fatalf("message by message: %d frames, output:\n%s", frames.Load(), out.String())
	}
}
