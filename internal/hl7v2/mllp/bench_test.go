package mllp

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/nhs-junction/junction/internal/hl7v2"
)

// BenchmarkRoundTrip measures one message sent and acknowledged over loopback TCP with a
// handler that only parses and acknowledges (AA): the transport's baseline cost, without
// storage.
func BenchmarkRoundTrip(b *testing.B) {
	s := &Server{Handler: HandlerFunc(func(ctx context.Context, raw []byte, remote net.Addr) []byte {
		m, err := hl7v2.Parse(raw)
		if err != nil {
			return hl7v2.AckForUnparsable(raw, hl7v2.AR, err, "", time.Now())
		}
		return hl7v2.Ack(m, hl7v2.AA, nil, "", time.Now())
	}), Logger: slog.New(slog.DiscardHandler)}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go s.Serve(l)
	defer s.Close()
	c, err := Dial(context.Background(), l.Addr().String(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	msg := testMsg("BENCH1")
	ctx := context.Background()
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Send(ctx, msg); err != nil {
			b.Fatal(err)
		}
	}
}
