package feed

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/nhs-junction/junction/internal/hl7v2"
)

// BatchOutcome is what became of a batch received in one frame.
type BatchOutcome struct {
	// Messages are the outcomes of the batch's messages, in order; empty
	// when the batch was refused as a whole.
	Messages []Outcome
	// Err, when set, is why the batch was refused as a whole (it could
	// not be read, or its BTS/FTS counts do not match what it holds):
	// none of its messages was applied.
	Err error
	// Ack is the acknowledgement batch sent back (hl7v2.BatchAck).
	Ack []byte
}

// ProcessBatch handles an HL7 batch ([FHS] {[BHS] {MSH...} [BTS]} [FTS])
// received as one frame (HL7 v2.5.1 section 2.10.3). Each message is
// processed as by Process, one after the other in the order sent, each in
// its own transaction, so each keeps every guarantee of a message sent on
// its own (AA only after its commit; a repeated control id answered with
// its first acknowledgement and never applied twice). The answer is one
// acknowledgement batch holding the acknowledgement of every message that
// asked for one (option "all messages are acknowledged in the response
// batch"), sent once the last message is done: a sender that loses the
// connection before it arrives resends the batch, and the messages
// already applied are answered as duplicates.
//
// A batch that cannot be read or whose BTS-1/FTS-1 counts do not match
// its content is refused as a whole, as the batch protocol requires of a
// receiver that cannot trust it: nothing of it is applied, it is stored
// as one rejected entry, and the answer carries one AR (with the error)
// and the reason in BHS-10, since an answer batch without
// acknowledgements would mean that everything was accepted.
func (f *Feed) ProcessBatch(ctx context.Context, raw []byte, remote string) BatchOutcome {
	now := f.opts.Now().UTC().Truncate(time.Microsecond)
	msgs, err := hl7v2.ParseBatch(raw)
	if err != nil {
		ack := hl7v2.AckForUnparsable(raw, hl7v2.AR, err, f.ackID(now), now)
		rec := headerRecord(firstMSH(raw))
		rec.ReceivedAt, rec.Status, rec.Error, rec.Remote, rec.Raw, rec.Ack = now, StatusRejected, "batch refused as a whole: "+err.Error(), remote, raw, ack
		rec.ErrorCode = strconv.Itoa(int(parseErrorCode(err)))
		f.storeLog(ctx, rec)
		f.opts.Logger.Warn("hl7: batch rejected", "remote", remote, "err", err)
		return BatchOutcome{Err: err, Ack: hl7v2.BatchAck(raw, [][]byte{ack}, "batch refused as a whole: "+err.Error(), f.ackID(now), now)}
	}
	out := BatchOutcome{Messages: make([]Outcome, 0, len(msgs))}
	var acks [][]byte
	for _, m := range msgs {
		o := f.Process(ctx, m.Raw(), remote)
		out.Messages = append(out.Messages, o)
		if o.Ack != nil {
			acks = append(acks, o.Ack)
		}
	}
	comment := ""
	if len(msgs) > 0 {
		comment = fmt.Sprintf("%d messages, %d acknowledged", len(msgs), len(acks))
	}
	out.Ack = hl7v2.BatchAck(raw, acks, comment, f.ackID(f.opts.Now()), f.opts.Now())
	return out
}

// firstMSH returns raw from its first MSH segment on (all of raw when
// there is none), for recovering a header from a batch.
func firstMSH(raw []byte) []byte {
	for i := 0; i+3 <= len(raw); i++ {
		if (i == 0 || raw[i-1] == '\r' || raw[i-1] == '\n') && string(raw[i:i+3]) == "MSH" {
			return raw[i:]
		}
	}
	return raw
}
