// Package feed receives HL7 v2 messages (over MLLP, or replayed from the
// message store), maps them to FHIR (hl7v2/fhirmap) and applies them
// through the interaction service, keeping every message received in the
// message store (table hl7_message).
//
// Guarantees:
//   - AA (or CA) is sent only after the raw message and every resource it
//     produced are committed in one database transaction.
//   - A message that is well formed but cannot be applied is stored with
//     its error (status errored) and answered AE with an ERR segment.
//   - Unreadable input is answered AR and stored (status rejected) when
//     any of it is identifiable.
//   - A control id (MSH-10) already received from the same sending
//     application and facility is answered with the first outcome's
//     acknowledgement again and never applied twice, however many
//     connections race: the store's unique key is checked inside the
//     applying transaction.
package feed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nhs-junction/junction/internal/access"
	"github.com/nhs-junction/junction/internal/hl7v2"
	"github.com/nhs-junction/junction/internal/hl7v2/fhirmap"
	"github.com/nhs-junction/junction/internal/interaction"
	"github.com/nhs-junction/junction/internal/search"
	"github.com/nhs-junction/junction/internal/searchparam"
	"github.com/nhs-junction/junction/internal/store"
)

// Store is what the feed needs of the store: writes (through which the
// message row goes), searches to find existing resources (outside and
// inside a write transaction), and reads of its own table.
// *search.Engine provides all of them (DB for the last).
type Store interface {
	store.Store
	Search(ctx context.Context, q *searchparam.Query, opt search.Options) (*search.Result, error)
	SearchTx(ctx context.Context, tx store.Tx, q *searchparam.Query, opt search.Options) (*search.Result, error)
}

// Options configure a Feed.
type Options struct {
	// Service applies the transaction Bundles and merges. Required.
	Service *interaction.Service
	// Store is the store Service writes to (the search engine). Required.
	Store Store
	// DB reads the message store; *search.Engine.DB() provides it. Required.
	DB search.DB
	// Mapping is the mapping file; nil means fhirmap.DefaultConfig().
	Mapping *fhirmap.Config
	// Logger receives one line per message; nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Registry is the search parameter registry; nil means searchparam.R4().
	Registry searchparam.Registry
}

// Feed processes HL7 v2 messages. It is an mllp.Handler (and
// mllp.Rejecter). Its methods are safe for concurrent use.
type Feed struct {
	opts Options
	seq  atomic.Uint64
}

// New returns a Feed.
func New(opts Options) (*Feed, error) {
	if opts.Service == nil || opts.Store == nil || opts.DB == nil {
		return nil, errors.New("feed: Service, Store and DB are required")
	}
	if opts.Mapping == nil {
		opts.Mapping = fhirmap.DefaultConfig()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Registry == nil {
		opts.Registry = searchparam.R4()
	}
	return &Feed{opts: opts}, nil
}

// Outcome is what became of one message.
type Outcome struct {
	Status string // applied, errored, rejected or duplicate
	Code   string // MSA-1 of the application outcome: AA, AE or AR
	Ack    []byte // the acknowledgement sent (nil when none was wanted)
	Record *Record
	Err    error // why it was not applied (errored, rejected)
}

// HandleMessage processes one frame and returns its acknowledgement
// (mllp.Handler): a message (Process), or a batch that starts with FHS or
// BHS (ProcessBatch).
func (f *Feed) HandleMessage(ctx context.Context, raw []byte, remote net.Addr) []byte {
	addr := ""
	if remote != nil {
		addr = remote.String()
	}
	if hl7v2.IsBatch(raw) {
		return f.ProcessBatch(ctx, raw, addr).Ack
	}
	return f.Process(ctx, raw, addr).Ack
}

// RejectMessage answers a frame the listener refused (too large): AR,
// and the start of the message is stored as rejected (mllp.Rejecter).
func (f *Feed) RejectMessage(ctx context.Context, prefix []byte, err error, remote net.Addr) []byte {
	now := f.opts.Now()
	ack := hl7v2.AckForUnparsable(prefix, hl7v2.AR, err, f.ackID(now), now)
	addr := ""
	if remote != nil {
		addr = remote.String()
	}
	rec := headerRecord(prefix)
	rec.ReceivedAt, rec.Status, rec.Error, rec.ErrorCode, rec.Remote, rec.Raw, rec.Ack = now, StatusRejected, err.Error(), "207", addr, prefix, ack
	f.storeLog(ctx, rec)
	return ack
}

// ackID makes the control id of an acknowledgement: the time and a
// process-wide counter, unique within this process and very likely
// across restarts.
func (f *Feed) ackID(now time.Time) string {
	return "J" + strconv.FormatInt(now.UnixMilli(), 36) + strconv.FormatUint(f.seq.Add(1), 36)
}

// Process handles one message: parse, deduplicate, map, apply, store and
// acknowledge. remote names the peer for the message store.
func (f *Feed) Process(ctx context.Context, raw []byte, remote string) Outcome {
	now := f.opts.Now().UTC().Truncate(time.Microsecond)
	m, err := hl7v2.Parse(raw)
	if err != nil {
		ack := hl7v2.AckForUnparsable(raw, hl7v2.AR, err, f.ackID(now), now)
		rec := headerRecord(raw)
		rec.ReceivedAt, rec.Status, rec.Error, rec.Remote, rec.Raw, rec.Ack = now, StatusRejected, err.Error(), remote, raw, ack
		rec.ErrorCode = strconv.Itoa(int(parseErrorCode(err)))
		f.storeLog(ctx, rec)
		f.opts.Logger.Warn("hl7: message rejected", "remote", remote, "err", err)
		return Outcome{Status: StatusRejected, Code: hl7v2.AR, Ack: ack, Record: rec, Err: err}
	}
	rec := &Record{SendingApp: m.SendingApp(), SendingFacility: m.SendingFacility(), ControlID: m.ControlID(),
		Type: m.Type(), Trigger: m.Trigger(), Version: m.Version(), ReceivedAt: now, Remote: remote, Raw: raw, Attempts: 1}
	// A message already received is answered as it was the first time.
	if out, ok := f.duplicate(ctx, rec, nil); ok {
		return out
	}
	return f.apply(ctx, m, rec, 0)
}

// duplicate answers a message whose key is in the store with the first
// outcome's acknowledgement, logging the repeat (status duplicate).
func (f *Feed) duplicate(ctx context.Context, rec *Record, first *Record) (Outcome, bool) {
	if first == nil {
		var err error
		first, err = firstOutcome(ctx, f.opts.DB, rec.SendingApp, rec.SendingFacility, rec.ControlID)
		if err != nil || first == nil {
			return Outcome{}, false
		}
	}
	dup := *rec
	dup.Status, dup.Ack, dup.Error = StatusDuplicate, first.Ack, fmt.Sprintf("repeat of message %d (%s)", first.ID, first.Status)
	dup.NHSNumber, dup.Refs = first.NHSNumber, nil
	f.storeLog(ctx, &dup)
	f.opts.Logger.Info("hl7: duplicate control id answered with the first acknowledgement", "control_id", rec.ControlID, "sender", rec.SendingApp+"|"+rec.SendingFacility, "first", first.ID)
	code := hl7v2.AA
	if first.Status == StatusErrored {
		code = hl7v2.AE
	}
	return Outcome{Status: StatusDuplicate, Code: code, Ack: first.Ack, Record: &dup}, true
}

// storeLog writes a rejected or duplicate row in its own transaction.
// Failing to log is reported but changes nothing the sender is told.
func (f *Feed) storeLog(ctx context.Context, rec *Record) {
	err := f.opts.Store.Write(ctx, func(tx store.Tx) error {
		t, err := backendTx(tx)
		if err != nil {
			return err
		}
		return insertLog(ctx, t, rec)
	})
	if err != nil {
		f.opts.Logger.Error("hl7: could not store message", "status", rec.Status, "err", err)
	}
}

// caller is who a feed's writes run as: the sending system.
func caller(rec *Record) *access.Caller {
	// A feed the operator pointed at this node writes the trust's own
	// records: a system client granted every resource type.
	return &access.Caller{Kind: access.System, Subject: "hl7v2:" + rec.SendingApp + "|" + rec.SendingFacility, Name: "HL7 v2 feed " + rec.SendingApp + " at " + rec.SendingFacility, Address: rec.Remote,
		Scopes: []string{"system/*.cruds"}}
}

// headerRecord recovers what it can of MSH from input Parse refused.
func headerRecord(raw []byte) *Record {
	rec := &Record{Attempts: 1}
	line := raw
	for i, c := range raw {
		if c == '\r' || c == '\n' {
			line = raw[:i]
			break
		}
	}
	if len(line) < 8 || string(line[:3]) != "MSH" {
		return rec
	}
	sep, comp := line[3], byte('^')
	if len(line) > 4 {
		comp = line[4]
	}
	var fields [][]byte
	start := 4
	fields = append(fields, nil, nil, nil) // MSH-0..2 placeholders
	for i := start; i <= len(line); i++ {
		if i == len(line) || line[i] == sep {
			fields = append(fields, line[start:i])
			start = i + 1
		}
	}
	get := func(n int) string {
		// fields[3] is MSH-2 here (the text after MSH-1); MSH-n is fields[n+1].
		if n+1 >= len(fields) {
			return ""
		}
		v := fields[n+1]
		for i, c := range v {
			if c == comp {
				v = v[:i]
				break
			}
		}
		return clean(string(v))
	}
	rec.SendingApp, rec.SendingFacility, rec.ControlID, rec.Version = get(3), get(4), get(10), get(12)
	if 10 < len(fields) {
		parts := splitBytes(fields[10], comp)
		if len(parts) > 0 {
			rec.Type = clean(string(parts[0]))
		}
		if len(parts) > 1 {
			rec.Trigger = clean(string(parts[1]))
		}
	}
	return rec
}

func splitBytes(b []byte, sep byte) [][]byte {
	var out [][]byte
	start := 0
	for i := 0; i <= len(b); i++ {
		if i == len(b) || b[i] == sep {
			out = append(out, b[start:i])
			start = i + 1
		}
	}
	return out
}

// clean keeps printable text (at most 200 bytes) of a header value from
// input that could not be parsed.
func clean(s string) string {
	if len(s) > 200 {
		s = s[:200]
	}
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c == 0x7f {
			b[i] = '?'
		}
	}
	return string(b)
}

// parseErrorCode is the table 0357 code for a parse failure (the
// sentinels' documented answers).
func parseErrorCode(err error) hl7v2.ErrorCode {
	switch {
	case errors.Is(err, hl7v2.ErrUnsupportedVersion):
		return hl7v2.ErrorUnsupportedVersion
	case errors.Is(err, hl7v2.ErrMissingControlID), errors.Is(err, hl7v2.ErrMissingMessageType):
		return hl7v2.ErrorRequiredFieldMissing
	case errors.Is(err, hl7v2.ErrEncodingCharacters), errors.Is(err, hl7v2.ErrInvalidText):
		return hl7v2.ErrorDataType
	case errors.Is(err, hl7v2.ErrUnsupportedCharset):
		return hl7v2.ErrorTableValueNotFound
	case errors.Is(err, hl7v2.ErrSegment), errors.Is(err, hl7v2.ErrNoMSH), errors.Is(err, hl7v2.ErrBatch):
		return hl7v2.ErrorSegmentSequence
	}
	return hl7v2.ErrorInternal
}
