package feed_test

import (
	"bytes"
	"context"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/nhs-junction/junction/internal/feed"
	"github.com/nhs-junction/junction/internal/hl7v2"
	"github.com/nhs-junction/junction/internal/hl7v2/mllp"
)

// batchOf wraps fixture messages in a file batch, with counts.
func batchOf(t *testing.T, names ...string) []byte {
	var b bytes.Buffer
	b.WriteString("FHS|^~\\&|PAS|RX1|JUNCTION|JUNCTION|20250301||||F1\rBHS|^~\\&|PAS|RX1|JUNCTION|JUNCTION|20250301||||B1\r")
	for _, n := range names {
		b.Write(bytes.TrimRight(fixture(t, n), "\r\n"))
		b.WriteByte('\r')
	}
	b.WriteString("BTS|" + strconv.Itoa(len(names)) + "\rFTS|1\r")
	return b.Bytes()
}

// TestBatchFrame: a batch received in one MLLP frame is applied message by
// message and answered with one batch holding every acknowledgement; sent
// again, nothing is applied twice; a batch whose counts are wrong is
// refused as a whole with an AR inside the answer batch.
func TestBatchFrame(t *testing.T) {
	e := newEnvSQLite(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &mllp.Server{Handler: e.feed}
	go srv.Serve(ln)
	defer srv.Close()
	cl, err := mllp.Dial(context.Background(), ln.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	send := func(raw []byte) []*hl7v2.Message {
		t.Helper()
		ack, err := cl.Send(context.Background(), raw)
		if err != nil {
			t.Fatal(err)
		}
		if !hl7v2.IsBatch(ack) {
			t.Fatalf("a batch was answered with %q", ack)
		}
		msgs, err := hl7v2.ParseBatch(ack)
		if err != nil {
			t.Fatalf("answer %q: %v", ack, err)
		}
		if !bytes.Contains(ack, []byte("|B1\r")) || !bytes.Contains(ack, []byte("|F1\r")) {
			t.Errorf("the answer does not refer to the batch and file control ids: %q", ack)
		}
		return msgs
	}
	batch := batchOf(t, "01-a28-register.hl7", "02-a01-admit.hl7", "13-oru-results.hl7", "20-bad-nhs-number.hl7")
	acks := send(batch)
	want := []struct{ code, id string }{{"CA", "PAS0001"}, {"AA", "PAS0002"}, {"AA", "LAB0001"}, {"AE", "PAS0020"}}
	if len(acks) != len(want) {
		t.Fatalf("%d acknowledgements, want %d", len(acks), len(want))
	}
	for i, w := range want {
		if acks[i].Get("MSA-1") != w.code || acks[i].Get("MSA-2") != w.id {
			t.Errorf("ack %d: %s %s, want %s %s", i, acks[i].Get("MSA-1"), acks[i].Get("MSA-2"), w.code, w.id)
		}
	}
	if got := list(t, e, feed.Query{Status: feed.StatusApplied}); len(got) != 3 {
		t.Errorf("%d applied messages, want 3", len(got))
	}
	obs := versions(t, e, "Observation")
	if obs == 0 {
		t.Fatal("no results applied")
	}
	// The whole batch again: every message answered as the first time,
	// nothing applied again.
	again := send(batch)
	for i := range acks {
		if !bytes.Equal(again[i].Raw(), acks[i].Raw()) {
			t.Errorf("resend, ack %d: %q, first %q", i, again[i].Raw(), acks[i].Raw())
		}
	}
	if got := versions(t, e, "Observation"); got != obs {
		t.Errorf("Observation versions %d after the resend, %d before", got, obs)
	}
	if got := list(t, e, feed.Query{Status: feed.StatusDuplicate}); len(got) != 4 {
		t.Errorf("%d duplicate rows, want 4", len(got))
	}
	// A truncated batch (BTS-1 says more than it holds) is refused whole.
	bad := bytes.Replace(batchOf(t, "03-a02-transfer.hl7", "05-a03-discharge.hl7"), []byte("BTS|2"), []byte("BTS|3"), 1)
	enc := versions(t, e, "Encounter")
	rej := send(bad)
	if len(rej) != 1 || rej[0].Get("MSA-1") != "AR" {
		t.Fatalf("truncated batch answered %d acks, first %q", len(rej), rej[0].Raw())
	}
	if got := versions(t, e, "Encounter"); got != enc {
		t.Errorf("a refused batch changed the encounter (%d versions, %d before)", got, enc)
	}
	if got := list(t, e, feed.Query{ControlID: "PAS0003"}); len(got) != 1 || got[0].Status != feed.StatusRejected || !strings.Contains(got[0].Error, "BTS-1") {
		t.Errorf("the refused batch is not stored as rejected: %+v", got)
	}
}
