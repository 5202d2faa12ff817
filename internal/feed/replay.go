package feed

import (
	"context"
	"errors"
	"time"

	"github.com/nhs-junction/junction/internal/hl7v2"
)

// ReplayOptions select the messages Replay applies again.
type ReplayOptions struct {
	// Status is the status of the messages to replay; only errored
	// messages can be replayed (an applied one is never applied twice).
	Status string
	// Since keeps messages received at or after it (zero: all).
	Since time.Time
}

// ReplayStats count a replay's outcomes.
type ReplayStats struct {
	Applied, Errored, Skipped int
}

// Replay applies the stored errored messages again, oldest first, for
// example after the mapping file was fixed. Each is applied at most once:
// the row turns applied in the same transaction as its resources, and
// only while it is still errored, so two replays running at once (or a
// replay racing the sender's own resend) apply it once. A message that
// fails again stays errored, with the new error and one more attempt
// counted. report, when not nil, is called with each outcome.
func (f *Feed) Replay(ctx context.Context, opts ReplayOptions, report func(*Record, Outcome)) (ReplayStats, error) {
	var st ReplayStats
	if opts.Status == "" {
		opts.Status = StatusErrored
	}
	if opts.Status != StatusErrored {
		return st, errors.New("feed: only errored messages can be replayed")
	}
	var after int64
	for {
		recs, err := List(ctx, f.opts.DB, Query{Status: StatusErrored, Since: opts.Since, After: after, Ascending: true, Count: 200})
		if err != nil {
			return st, err
		}
		if len(recs) == 0 {
			return st, nil
		}
		for _, r := range recs {
			after = r.ID
			out := f.replayOne(ctx, r)
			switch {
			case out.Status == StatusApplied && out.Err == nil:
				st.Applied++
			case out.Status == StatusApplied:
				st.Skipped++ // another replay applied it first
			default:
				st.Errored++
			}
			if report != nil {
				report(r, out)
			}
			if ctx.Err() != nil {
				return st, ctx.Err()
			}
		}
	}
}

func (f *Feed) replayOne(ctx context.Context, r *Record) Outcome {
	m, err := hl7v2.Parse(r.Raw)
	if err != nil {
		// It parsed when it was received; a parser change could refuse it.
		return Outcome{Status: StatusErrored, Code: hl7v2.AE, Record: r, Err: err}
	}
	rec := *r
	rec.Attempts++
	return f.apply(ctx, m, &rec, r.ID)
}
