package hl7v2

import (
	"errors"
	"strings"
	"testing"
)

func mshN(id string) string {
	return `MSH|^~\&|A|B|C|D|2020||ADT^A04^ADT_A01|` + id + `|P|2.5`
}

func TestParseBatch(t *testing.T) {
	tests := []struct {
		name string
		segs []string
		ids  []string
		err  error
		pos  int // expected error position (when err is set)
	}{
		{"file of two batches", []string{`FHS|^~\&|A`, `BHS|^~\&|A`, mshN("1"), "PID|1", mshN("2"), "BTS|2", `BHS|^~\&`, mshN("3"), "BTS|1", "FTS|2"}, []string{"1", "2", "3"}, nil, 0},
		{"no envelope", []string{mshN("1"), "PID|1"}, []string{"1"}, nil, 0},
		{"lone FTS", []string{mshN("1"), "PID|1", "FTS|1|END OF FILE"}, []string{"1"}, nil, 0},
		{"counts omitted", []string{`BHS|^~\&`, mshN("1"), mshN("2"), "BTS", "FTS"}, []string{"1", "2"}, nil, 0},
		{"empty batch", []string{`FHS|^~\&`, `BHS|^~\&`, "BTS|0", "FTS|1"}, []string{}, nil, 0},
		{"BTS count too high", []string{`BHS|^~\&`, mshN("1"), "BTS|2"}, nil, ErrBatch, len(`BHS|^~\&`) + 1 + len(mshN("1")) + 1},
		{"FTS count wrong", []string{`FHS|^~\&`, `BHS|^~\&`, mshN("1"), "BTS|1", "FTS|3"}, nil, ErrBatch, -1},
		{"BTS count not a number", []string{mshN("1"), "BTS|two"}, nil, ErrBatch, -1},
		{"FHS not first", []string{mshN("1"), `FHS|^~\&`}, nil, ErrBatch, -1},
		{"segment after FTS", []string{mshN("1"), "FTS|1", "PID|1"}, nil, ErrBatch, -1},
		{"segment before MSH", []string{`BHS|^~\&`, "PID|1"}, nil, ErrNoMSH, -1},
		{"BHS inside open batch", []string{`BHS|^~\&`, mshN("1"), `BHS|^~\&`}, nil, ErrBatch, -1},
		{"bad FHS delimiters", []string{`FHS|^^`}, nil, ErrEncodingCharacters, 5},
		{"bad message inside", []string{`BHS|^~\&`, mshN("1"), `MSH|^~\&|A|B|C|D|2020||ADT^A04||P|2.5`}, nil, ErrMissingControlID, -1},
		{"nothing", []string{}, nil, ErrNoMSH, 0},
	}
	for _, tt := range tests {
		raw := []byte(strings.Join(tt.segs, "\r"))
		msgs, err := ParseBatch(raw)
		if tt.err != nil {
			var pe *ParseError
			if !errors.Is(err, tt.err) || !errors.As(err, &pe) {
				t.Errorf("%s: err = %v, want %v", tt.name, err, tt.err)
			} else if tt.pos >= 0 && pe.Position != tt.pos {
				t.Errorf("%s: position %d, want %d", tt.name, pe.Position, tt.pos)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		var ids []string
		for _, m := range msgs {
			ids = append(ids, m.ControlID())
		}
		if strings.Join(ids, ",") != strings.Join(tt.ids, ",") || msgs == nil {
			t.Errorf("%s: ids %v, want %v", tt.name, ids, tt.ids)
		}
	}
}

func TestParseBatchMessageBytes(t *testing.T) {
	raw := []byte("FHS|^~\\&\r" + mshN("1") + "\rPID|1\r" + mshN("2") + "\rFTS|1\r")
	msgs, err := ParseBatch(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(msgs[0].Raw()); got != mshN("1")+"\rPID|1" {
		t.Errorf("first message bytes = %q", got)
	}
	if got := string(msgs[1].Raw()); got != mshN("2") {
		t.Errorf("second message bytes = %q", got)
	}
	// Errors inside a message report positions and segment numbers within the file.
	raw = []byte("FHS|^~\\&\r" + mshN("1") + "\rpid|1\r")
	_, err = ParseBatch(raw)
	var pe *ParseError
	if !errors.As(err, &pe) || pe.SegmentIndex != 3 || pe.Position != len("FHS|^~\\&\r"+mshN("1")+"\r") {
		t.Errorf("err = %v", err)
	}
}
