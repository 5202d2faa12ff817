package access

import (
	"context"
	"time"
)

// Querier reads in the SQL both backends share ('?' placeholders); the
// stores' read pools and write transactions satisfy it.
type Querier interface {
	QueryShared(ctx context.Context, query string, args []any, row func(scan func(dest ...any) error) error) error
}

// Grant is a break-glass access as recorded: who opened it, for which
// patient, why, and the review Task raised for privacy officers.
type Grant struct {
	TaskID, Subject, Patient, Reason string
	Since, Until                     time.Time
}

// RecordBreakGlass stores g in the write transaction ex, beside the
// review Task the caller writes in the same transaction.
func RecordBreakGlass(ctx context.Context, ex Execer, g Grant) error {
	return ex.ExecShared(ctx, "INSERT INTO access_breakglass (task_id, subject, patient, reason, since_us, until_us) VALUES (?, ?, ?, ?, ?, ?)",
		g.TaskID, g.Subject, g.Patient, g.Reason, g.Since.UnixMicro(), g.Until.UnixMicro())
}

// ActiveBreakGlass returns subject's break-glass access that is open at
// now and ends last, or nil when none is open.
func ActiveBreakGlass(ctx context.Context, q Querier, subject string, now time.Time) (*BreakGlass, error) {
	var bg *BreakGlass
	err := q.QueryShared(ctx, "SELECT patient, reason, until_us FROM access_breakglass WHERE subject = ? AND until_us > ? AND since_us <= ? ORDER BY until_us DESC LIMIT 1",
		[]any{subject, now.UnixMicro(), now.UnixMicro()}, func(scan func(dest ...any) error) error {
			var until int64
			bg = &BreakGlass{}
			if err := scan(&bg.Patient, &bg.Reason, &until); err != nil {
				return err
			}
			bg.Until = time.UnixMicro(until).UTC()
			return nil
		})
	return bg, err
}
