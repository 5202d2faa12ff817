package hl7v2

import (
	"strings"
	"testing"
	"time"
)

// TestBatchAck answers a file batch with a file batch: headers swapped,
// the reference control ids set to the sender's, every ACK inside, and
// the counts of the trailers right.
func TestBatchAck(t *testing.T) {
	in := "FHS|^~\\&|LAB|RX1|JUNCTION|JUNCTION|20250301||||FILE7\r" +
		"BHS|^~\\&|LAB|RX1|JUNCTION|JUNCTION|20250301||||BATCH9\r" +
		mshN("1") + "\r" + mshN("2") + "\rBTS|2\rFTS|1\r"
	if !IsBatch([]byte(in)) || !IsBatch([]byte("\xEF\xBB\xBF\r\nBHS|^~\\&\r")) || IsBatch([]byte(mshN("1"))) {
		t.Fatal("IsBatch")
	}
	msgs, err := ParseBatch([]byte(in))
	if err != nil || len(msgs) != 2 {
		t.Fatal(msgs, err)
	}
	now := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	acks := [][]byte{Ack(msgs[0], AA, nil, "A1", now), Ack(msgs[1], AE, []AckError{{Code: ErrorUnknownKey, Text: "no patient"}}, "A2", now)}
	out := BatchAck([]byte(in), acks, "2 messages|2 acknowledged", "R1", now)
	segs := strings.Split(strings.TrimSuffix(string(out), "\r"), "\r")
	want := []string{
		"FHS|^~\\&|JUNCTION|JUNCTION|LAB|RX1|20250301100000+0000|||2 messages\\F\\2 acknowledged|R1|FILE7",
		"BHS|^~\\&|JUNCTION|JUNCTION|LAB|RX1|20250301100000+0000|||2 messages\\F\\2 acknowledged|R1|BATCH9",
	}
	for i, w := range want {
		if segs[i] != w {
			t.Errorf("segment %d:\n got %s\nwant %s", i+1, segs[i], w)
		}
	}
	if got := segs[len(segs)-2:]; got[0] != "BTS|2" || got[1] != "FTS|1" {
		t.Errorf("trailers %v", got)
	}
	back, err := ParseBatch(out)
	if err != nil || len(back) != 2 {
		t.Fatalf("the answer does not read back as a batch of 2: %v %d", err, len(back))
	}
	if back[0].Get("MSA-1") != AA || back[0].Get("MSA-2") != "1" || back[1].Get("MSA-1") != AE || back[1].Get("MSA-2") != "2" {
		t.Errorf("acks %q %q", back[0].Raw(), back[1].Raw())
	}
	// A batch without FHS gets none; without any header, a bare BHS.
	if got := string(BatchAck([]byte("BHS|^~\\&\r"+mshN("1")), nil, "", "R", now)); !strings.HasPrefix(got, "BHS|^~\\&||||") || strings.Contains(got, "FHS") || !strings.HasSuffix(got, "BTS|0\r") {
		t.Errorf("BHS only: %q", got)
	}
}
