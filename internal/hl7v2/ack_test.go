package hl7v2

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

var ackTime = time.Date(2024, 5, 1, 12, 30, 0, 0, time.UTC)

func TestAckLayout(t *testing.T) {
	tests := []struct {
		name, version, code string
		errs                []AckError
		want                string
	}{
		{"2.4 AA", "2.4", AA, nil,
			"MSH|^~\\&|JUNCTION|RX1|PAS|RCB|20240501123000+0000||ACK^A01^ACK|A1|P|2.4\rMSA|AA|C1\r"},
		{"2.3 has no structure component", "2.3", AA, nil,
			"MSH|^~\\&|JUNCTION|RX1|PAS|RCB|20240501123000+0000||ACK^A01|A1|P|2.3\rMSA|AA|C1\r"},
		{"2.4 AE uses ELD", "2.4", AE, []AckError{{Segment: "PID", Sequence: 1, Field: 3, Code: ErrorRequiredFieldMissing, Text: "no NHS number"}},
			"MSH|^~\\&|JUNCTION|RX1|PAS|RCB|20240501123000+0000||ACK^A01^ACK|A1|P|2.4\rMSA|AE|C1|no NHS number\rERR|PID^1^3^101&Required field missing&HL70357\r"},
		{"2.5.1 AE uses ERR-2/3/4/8", "2.5.1", AE, []AckError{{Segment: "PID", Sequence: 2, Field: 7, Code: ErrorDataType, Severity: "W", Text: "bad date"}},
			"MSH|^~\\&|JUNCTION|RX1|PAS|RCB|20240501123000+0000||ACK^A01^ACK|A1|P|2.5.1\rMSA|AE|C1|bad date\rERR||PID^2^7|102^Data type error^HL70357|W||||bad date\r"},
		{"2.7 drops MSA-3", "2.7", AR, []AckError{{Code: ErrorUnsupportedMessageType, Text: "ORM not accepted"}},
			"MSH|^~\\&|JUNCTION|RX1|PAS|RCB|20240501123000+0000||ACK^A01^ACK|A1|P|2.7\rMSA|AR|C1\rERR|||200^Unsupported message type^HL70357|E||||ORM not accepted\r"},
		{"CA commit ack", "2.5", CA, nil,
			"MSH|^~\\&|JUNCTION|RX1|PAS|RCB|20240501123000+0000||ACK^A01^ACK|A1|P|2.5\rMSA|CA|C1\r"},
		{"unknown code becomes AR", "2.5", "OK", nil,
			"MSH|^~\\&|JUNCTION|RX1|PAS|RCB|20240501123000+0000||ACK^A01^ACK|A1|P|2.5\rMSA|AR|C1\r"},
		{"2.3 segment-level error", "2.3", AE, []AckError{{Segment: "ZU1", Code: ErrorSegmentSequence}},
			"MSH|^~\\&|JUNCTION|RX1|PAS|RCB|20240501123000+0000||ACK^A01|A1|P|2.3\rMSA|AE|C1|Segment sequence error\rERR|ZU1^1^^100&Segment sequence error&HL70357\r"},
	}
	for _, tt := range tests {
		orig := mustParse(t, msg(`MSH|^~\&|PAS|RCB|JUNCTION|RX1|2024||ADT^A01^ADT_A01|C1|P|`+tt.version, "PID|1"))
		got := string(Ack(orig, tt.code, tt.errs, "A1", ackTime))
		if got != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
		}
	}
}

func TestAckEchoesHeader(t *testing.T) {
	orig := mustParse(t, msg(`MSH#$*!@#APP$1.2$ISO#FAC#JUNC#RX1#2024##ORU$R01$ORU_R01#C!F!9#T#2.5.1#####GBR#8859/1#EN`, "PID#1"))
	raw := Ack(orig, AE, []AckError{{Code: ErrorInternal, Text: "a#b"}}, "", ackTime)
	a := mustParse(t, raw)
	if a.Delims != orig.Delims || a.Charset != "8859/1" || a.Get("MSH-17") != "GBR" || a.Get("MSH-19") != "EN" {
		t.Errorf("header not echoed: %q", raw)
	}
	if a.Get("MSH-5.2") != "1.2" || a.ProcessingID() != "T" || a.Get("MSA-2") != "C#9" || a.Get("ERR-8") != "a#b" {
		t.Errorf("values: %q", raw)
	}
	if !strings.HasPrefix(a.ControlID(), "ACK20240501123000") {
		t.Errorf("generated control id %q", a.ControlID())
	}
}

func TestAckCharsetEncoding(t *testing.T) {
	orig := mustParse(t, []byte("MSH|^~\\&|APP|H\xF4pital|J|R|2020||ADT^A01|1|P|2.5||||||8859/1\r"))
	raw := Ack(orig, AE, []AckError{{Code: ErrorInternal, Text: "Zoë ✓"}}, "A", ackTime)
	if !strings.Contains(string(raw), "H\xF4pital") || !strings.Contains(string(raw), "Zo\xEB ?") {
		t.Errorf("ack not in ISO 8859-1: %q", raw)
	}
	a := mustParse(t, raw)
	if a.ReceivingFacility() != "Hôpital" {
		t.Errorf("round trip = %q", a.ReceivingFacility())
	}
}

func TestAckForUnparsable(t *testing.T) {
	tests := []struct {
		name, raw string
		want      []string // substrings of the reply
	}{
		{"unsupported version", "MSH|^~\\&|A|B|C|D|2020||ADT^A01|77|P|2.2\rPID|1",
			[]string{"MSH|^~\\&|C|D|A|B|", "|ACK^A01|R1|P|2.2\r", "MSA|AR|77|unsupported version id", "ERR|MSH^1^12^203&Unsupported version id&HL70357\r"}},
		{"version 2.9", "MSH|^~\\&|A|B|C|D|2020||ADT^A01|77|P|2.9",
			[]string{"|ACK^A01^ACK|R1|P|2.9\r", "MSA|AR|77\r", "ERR||MSH^1^12|203^Unsupported version id^HL70357|E||||"}},
		{"missing control id", "MSH|^~\\&|A|B|C|D|2020||ADT^A01||P|2.5",
			[]string{"MSA|AR|", "ERR||MSH^1^10|101^Required field missing^HL70357|E"}},
		{"missing type", "MSH|^~\\&|A|B|C|D|2020|||5|P|2.4",
			[]string{"|ACK|R1|P|2.4\r", "MSA|AR|5|", "ERR|MSH^1^9^101&"}},
		{"charset", "MSH|^~\\&|A|B|C|D|2020||ADT^A01|5|P|2.5||||||ISO IR87",
			[]string{"|ACK^A01^ACK|R1|P|2.5\r", "ERR||MSH^1^18|103^Table value not found^HL70357"}},
		{"custom delimiters", "MSH#$*!@#A#B#C#D#2020##ADT$A08#9#P#2.0",
			[]string{"MSH#$*!@#C#D#A#B#", "#ACK$A08#R1#P#2.0\r", "MSA#AR#9#"}},
		{"no MSH", "garbage\r\x0bwith control",
			[]string{"MSH|^~\\&|||||20240501123000+0000||ACK|R1||2.4\r", "MSA|AR||message does not start with an MSH segment\rERR|^^^100&Segment sequence error&HL70357\r"}},
		{"bad encoding characters", "MSH|^^|A|B",
			[]string{"MSH|^~\\&|||||", "|2.4\rMSA|AR|"}},
		{"BOM and LF", "\xEF\xBB\xBFMSH|^~\\&|A|B|C|D|2020||ADT^A01|8|P|2.1\n",
			[]string{"|C|D|A|B|", "MSA|AR|8|"}},
		{"control bytes dropped", "MSH|^~\\&|A\x1c|B\x0b|C|D|2020||ADT^A01|8\x00|P|2.1",
			[]string{"|C|D|A|B|", "MSA|AR|8|"}},
	}
	for _, tt := range tests {
		_, perr := Parse([]byte(tt.raw))
		if perr == nil {
			t.Fatalf("%s: Parse accepted the input", tt.name)
		}
		got := string(AckForUnparsable([]byte(tt.raw), AR, perr, "R1", ackTime))
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: reply lacks %q:\n%q", tt.name, w, got)
			}
		}
		if strings.ContainsAny(got, "\x0b\x1c\x00\n") {
			t.Errorf("%s: reply holds control characters: %q", tt.name, got)
		}
		// The reply must itself parse when its version is supported.
		if a, err := Parse([]byte(got)); err == nil {
			if a.Get("MSA-1") != AR {
				t.Errorf("%s: MSA-1 = %q", tt.name, a.Get("MSA-1"))
			}
		} else if !errors.Is(err, ErrUnsupportedVersion) {
			t.Errorf("%s: reply does not parse: %v", tt.name, err)
		}
	}
	// A non-parse error is reported as 207 with its text.
	got := string(AckForUnparsable([]byte("MSH|^~\\&|A|B|C|D|2020||ADT^A01|9|P|2.5"), AR, fmt.Errorf("message exceeds 1 MiB"), "R", ackTime))
	if !strings.Contains(got, "ERR|||207^Application internal error^HL70357|E||||message exceeds 1 MiB\r") {
		t.Errorf("generic error: %q", got)
	}
	// No error: no ERR segment.
	if got := string(AckForUnparsable(nil, CR, nil, "R", ackTime)); strings.Contains(got, "ERR") || !strings.Contains(got, "MSA|CR|\r") {
		t.Errorf("nil error: %q", got)
	}
}

func TestAckMode(t *testing.T) {
	tests := []struct {
		msh1516          string
		enhanced         bool
		accept, app      string
		commitOK, appErr bool // AckWanted(accept, true), AckWanted(app, false)
	}{
		{"||", false, "", "AL", true, true},
		{"|AL|NE", true, "AL", "NE", true, false},
		{"|ne|al", true, "NE", "AL", false, true},
		{"|ER|SU", true, "ER", "SU", false, false},
		{"|SU|ER", true, "SU", "ER", true, true},
		{"||NE", true, "AL", "NE", true, false},
		{"|NE|", true, "NE", "AL", false, true},
	}
	for _, tt := range tests {
		m := mustParse(t, msg(`MSH|^~\&|A|B|C|D|2020||ADT^A01|1|P|2.5||`+tt.msh1516))
		enh, acc, app := AckMode(m)
		if enh != tt.enhanced || acc != tt.accept || app != tt.app {
			t.Errorf("%q: AckMode = %v %q %q", tt.msh1516, enh, acc, app)
		}
		if enh {
			if AckWanted(acc, true) != tt.commitOK || AckWanted(app, false) != tt.appErr {
				t.Errorf("%q: AckWanted wrong", tt.msh1516)
			}
		}
	}
	if !AckWanted("XX", false) || !AckWanted("", true) {
		t.Error("unknown conditions must ask for an acknowledgement")
	}
}
