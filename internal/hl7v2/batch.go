package hl7v2

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// ParseBatch parses an HL7 batch file (HL7 v2.5.1 section 2.10.3):
//
//	[FHS] { [BHS] { MSH ... } [BTS] } [FTS]
//
// Every envelope segment is optional, so a lone message (with or without a trailing FTS)
// parses as a batch of one. Each message is parsed as by Parse. When BTS-1 (batch message
// count) or FTS-1 (file batch count) is valued, it must match what the file holds, so that a
// truncated file is refused rather than half-processed; a batch without a BHS counts as one.
// An envelope holding no message yields an empty slice and no error. Every error is a
// *ParseError; its positions refer to raw.
func ParseBatch(raw []byte) ([]*Message, error) {
	buf := bytes.Clone(raw)
	base := 0
	if bytes.HasPrefix(buf, utf8BOM) {
		buf, base = buf[3:], 3
	}
	lines, over := splitLines(buf, MaxSegments*10)
	if over >= 0 {
		return nil, tooManySegments(MaxSegments*10, base+over)
	}
	if len(lines) == 0 {
		return nil, &ParseError{Position: base, Msg: ErrNoMSH.Error(), Err: ErrNoMSH}
	}
	var (
		out         []*Message
		msgStart    = -1 // index in lines of the current message's MSH
		batches     int  // batches seen (explicit BHS, or an implicit one holding messages)
		inBatch     bool // a batch (explicit or implicit) is open
		batchCount  int  // messages in the open batch
		sawFTS      bool
		firstHeader = true
	)
	fail := func(i int, name, msg string) error {
		return &ParseError{Segment: name, SegmentIndex: i + 1, Position: base + lines[i].start, Msg: msg, Err: ErrBatch}
	}
	flush := func(end int) error {
		if msgStart < 0 {
			return nil
		}
		msgLines := lines[msgStart:end]
		if len(msgLines) > MaxSegments {
			return &ParseError{SegmentIndex: msgStart + MaxSegments + 1, Position: base + lines[msgStart+MaxSegments].start,
				Msg: fmt.Sprintf("more than %d segments in one message", MaxSegments), Err: ErrSegment}
		}
		m, err := parseLines(buf, msgLines, base)
		if err != nil {
			if pe, ok := err.(*ParseError); ok && pe.SegmentIndex > 0 {
				// Report the segment's position in the file, not in the message.
				pe.SegmentIndex += msgStart
			}
			return err
		}
		// Each message keeps only its own bytes.
		m.raw = buf[lines[msgStart].start:lines[end-1].end:lines[end-1].end]
		out = append(out, m)
		msgStart = -1
		return nil
	}
	for i, ln := range lines {
		seg := buf[ln.start:ln.end]
		name := ""
		if len(seg) >= 3 {
			name = string(seg[:3])
		}
		if sawFTS {
			return nil, fail(i, name, "segment after FTS")
		}
		switch name {
		case "FHS", "BHS", "BTS", "FTS", "MSH":
			if err := flush(i); err != nil {
				return nil, err
			}
		}
		switch name {
		case "FHS":
			if !firstHeader {
				return nil, fail(i, name, "FHS must be the first segment of a file")
			}
			if _, err := readDelimiters(seg, base+ln.start); err != nil {
				return nil, err
			}
		case "BHS":
			if _, err := readDelimiters(seg, base+ln.start); err != nil {
				return nil, err
			}
			if inBatch && batchCount > 0 {
				return nil, fail(i, name, "BHS before the previous batch's BTS")
			}
			if !inBatch {
				batches++
			}
			inBatch, batchCount = true, 0
		case "MSH":
			if !inBatch {
				inBatch, batchCount = true, 0
				batches++
			}
			msgStart = i
			batchCount++
		case "BTS":
			if n, ok, err := countField(seg); err != nil {
				return nil, fail(i, name, "BTS-1 batch message count is not a number")
			} else if ok && n != batchCount {
				return nil, fail(i, name, fmt.Sprintf("BTS-1 says %d messages, the batch holds %d", n, batchCount))
			}
			if !inBatch {
				batches++ // an empty batch with only a trailer
			}
			inBatch, batchCount = false, 0
		case "FTS":
			if n, ok, err := countField(seg); err != nil {
				return nil, fail(i, name, "FTS-1 file batch count is not a number")
			} else if ok && n != batches {
				return nil, fail(i, name, fmt.Sprintf("FTS-1 says %d batches, the file holds %d", n, batches))
			}
			sawFTS = true
		default:
			if msgStart < 0 {
				return nil, &ParseError{Segment: name, SegmentIndex: i + 1, Position: base + ln.start,
					Msg: "segment outside any message", Err: ErrNoMSH}
			}
		}
		firstHeader = false
	}
	if err := flush(len(lines)); err != nil {
		return nil, err
	}
	if out == nil {
		out = []*Message{}
	}
	return out, nil
}

// countField reads field 1 of a BTS or FTS segment as a count; ok is false when it is empty.
func countField(seg []byte) (n int, ok bool, err error) {
	if len(seg) <= 4 {
		return 0, false, nil
	}
	f := seg[4:]
	if k := bytes.IndexByte(f, seg[3]); k >= 0 {
		f = f[:k]
	}
	s := strings.TrimSpace(string(f))
	if s == "" {
		return 0, false, nil
	}
	n, err = strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, false, fmt.Errorf("not a count: %q", s)
	}
	return n, true, nil
}
