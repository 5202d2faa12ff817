package hl7v2

import (
	"bytes"
	"strconv"
	"time"
)

// IsBatch reports whether raw starts with a file or batch header (FHS or
// BHS, after an optional UTF-8 byte-order mark and blank lines): input to
// read with ParseBatch and to answer with BatchAck.
func IsBatch(raw []byte) bool {
	raw = bytes.TrimLeft(bytes.TrimPrefix(raw, utf8BOM), "\r\n \t")
	return bytes.HasPrefix(raw, []byte("FHS")) || bytes.HasPrefix(raw, []byte("BHS"))
}

// BatchAck builds the batch that acknowledges the batch raw, after HL7
// v2.5.1 section 2.10.3 (batch protocol; acknowledging batches, option
// "all messages are acknowledged in the response batch"):
//
//	[FHS] BHS {ACK} BTS [FTS]
//
// acks are the acknowledgement messages, in the order of the messages
// they answer. The envelope mirrors raw's: an FHS when raw has one, and
// always a BHS. Each header swaps the sending and receiving application
// and facility of raw's (FHS/BHS-3..6 become -5,-6,-3,-4), carries the
// creation time now (-7), comment (-10, escaped; empty for none),
// controlID as its own control id (-11) and raw's control id as the
// reference control id (-12, "the value of BHS-11 when this batch was
// originally transmitted"). BTS-1 counts acks and FTS-1 is 1. The
// delimiters are raw's, or the defaults when its header cannot be read.
//
// A response batch with no ACK in it means, under the same section, that
// every message was accepted; so a batch that is refused as a whole must
// be answered with at least one negative acknowledgement.
func BatchAck(raw []byte, acks [][]byte, comment, controlID string, now time.Time) []byte {
	var fhs, bhs []byte
	rest := bytes.TrimPrefix(raw, utf8BOM)
	for len(rest) > 0 && (fhs == nil || bhs == nil) {
		k := bytes.IndexAny(rest, "\r\n")
		seg := rest
		if k >= 0 {
			seg, rest = rest[:k], rest[k+1:]
		} else {
			rest = nil
		}
		seg = bytes.TrimLeft(seg, " \t")
		switch {
		case bytes.HasPrefix(seg, []byte("FHS")) && fhs == nil && bhs == nil:
			fhs = seg
		case bytes.HasPrefix(seg, []byte("BHS")) && bhs == nil:
			bhs = seg
		case bytes.HasPrefix(seg, []byte("MSH")):
			rest = nil // the envelope is before the first message
		}
	}
	d := DefaultDelimiters
	for _, seg := range [][]byte{fhs, bhs} {
		if seg != nil {
			if got, err := readDelimiters(seg, 0); err == nil {
				d = got
				break
			}
		}
	}
	fs := string(d.Field)
	header := func(name string, seg []byte) string {
		var s Segment
		if seg != nil {
			if sd, err := readDelimiters(seg, 0); err == nil {
				splitSegment(&s, seg, sd, 0)
			}
		}
		get := func(n int) string {
			if s.raw == nil {
				return ""
			}
			return sanitize(s.Field(n).Raw(), maxEcho)
		}
		fields := []string{
			get(5), get(6), get(3), get(4), // -3..6 swapped
			now.Format("20060102150405-0700"), // -7
			"", "",                            // -8 security, -9 name/id/type
			Escape(comment, d), // -10
			Escape(controlID, d),
			get(11), // -12 reference control id
		}
		for len(fields) > 0 && fields[len(fields)-1] == "" {
			fields = fields[:len(fields)-1]
		}
		var b bytes.Buffer
		b.WriteString(name + fs + d.EncodingCharacters())
		for _, v := range fields {
			b.WriteString(fs + v)
		}
		b.WriteByte('\r')
		return b.String()
	}
	var out bytes.Buffer
	if fhs != nil {
		out.WriteString(header("FHS", fhs))
	}
	out.WriteString(header("BHS", bhs))
	for _, a := range acks {
		out.Write(bytes.TrimRight(a, "\r\n"))
		out.WriteByte('\r')
	}
	out.WriteString("BTS" + fs + strconv.Itoa(len(acks)) + "\r")
	if fhs != nil {
		out.WriteString("FTS" + fs + "1\r")
	}
	return out.Bytes()
}
