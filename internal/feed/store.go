package feed

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nhs-junction/junction/internal/search"
	"github.com/nhs-junction/junction/internal/store"
)

// Message statuses (storesql.HL7Schema).
const (
	StatusApplied   = "applied"
	StatusErrored   = "errored"
	StatusRejected  = "rejected"
	StatusDuplicate = "duplicate"
)

// Record is one row of the message store.
type Record struct {
	ID              int64     `json:"id"`
	SendingApp      string    `json:"sendingApp"`
	SendingFacility string    `json:"sendingFacility"`
	ControlID       string    `json:"controlId"`
	Type            string    `json:"type"`
	Trigger         string    `json:"trigger"`
	Version         string    `json:"version"`
	ReceivedAt      time.Time `json:"receivedAt"`
	Status          string    `json:"status"`
	Error           string    `json:"error,omitempty"`
	ErrorCode       string    `json:"errorCode,omitempty"`
	NHSNumber       string    `json:"nhsNumber,omitempty"`
	Refs            []string  `json:"refs,omitempty"`
	Remote          string    `json:"remote,omitempty"`
	Attempts        int64     `json:"attempts"`
	AppliedAt       time.Time `json:"appliedAt,omitzero"`
	Raw             []byte    `json:"-"`
	Ack             []byte    `json:"-"`
}

// sqlTx is what the backends' transactions offer for SQL of our own
// (store/sqlite.Tx and store/postgres.Tx).
type sqlTx interface {
	ExecShared(ctx context.Context, query string, args ...any) error
	QueryShared(ctx context.Context, query string, args []any, row func(scan func(dest ...any) error) error) error
}

func backendTx(tx store.Tx) (sqlTx, error) {
	t, ok := search.Unwrap(tx).(sqlTx)
	if !ok {
		return nil, fmt.Errorf("feed: transaction %T cannot run SQL", tx)
	}
	return t, nil
}

const recordColumns = "id, sending_app, sending_facility, control_id, message_type, trigger_event, version, received_at, status, error, error_code, nhs_number, refs, remote, attempts, applied_at, raw, ack"

func scanRecord(scan func(dest ...any) error) (*Record, error) {
	var r Record
	var recv, applied int64
	var refs string
	if err := scan(&r.ID, &r.SendingApp, &r.SendingFacility, &r.ControlID, &r.Type, &r.Trigger, &r.Version, &recv, &r.Status,
		&r.Error, &r.ErrorCode, &r.NHSNumber, &refs, &r.Remote, &r.Attempts, &applied, &r.Raw, &r.Ack); err != nil {
		return nil, err
	}
	r.ReceivedAt = time.UnixMicro(recv).UTC()
	if applied != 0 {
		r.AppliedAt = time.UnixMicro(applied).UTC()
	}
	if refs != "" {
		r.Refs = strings.Fields(refs)
	}
	return &r, nil
}

// errDuplicate reports that the message's key is already in the store:
// the insert found an applied or errored row for the same sender and
// control id (committed by another connection, or waited for).
var errDuplicate = errors.New("feed: control id already received from this sender")

// insertKeyed inserts an applied or errored row inside tx under the
// unique key; errDuplicate when the key is taken. On PostgreSQL a
// concurrent transaction holding the same key makes this wait for its
// end (the unique index's insertion lock), so the loser sees the winner.
func insertKeyed(ctx context.Context, tx sqlTx, r *Record) error {
	found := false
	err := tx.QueryShared(ctx, "INSERT INTO hl7_message (sending_app, sending_facility, control_id, message_type, trigger_event, version, received_at, status, error, error_code, nhs_number, refs, remote, attempts, applied_at, raw, ack) "+
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "+
		"ON CONFLICT (sending_app, sending_facility, control_id) WHERE status IN ('applied', 'errored') DO NOTHING RETURNING id",
		r.args(), func(scan func(dest ...any) error) error { found = true; return scan(&r.ID) })
	if err != nil {
		return fmt.Errorf("feed: store message: %w", err)
	}
	if !found {
		return errDuplicate
	}
	return nil
}

// insertLog inserts a rejected or duplicate row (outside the unique key).
func insertLog(ctx context.Context, tx sqlTx, r *Record) error {
	return tx.QueryShared(ctx, "INSERT INTO hl7_message (sending_app, sending_facility, control_id, message_type, trigger_event, version, received_at, status, error, error_code, nhs_number, refs, remote, attempts, applied_at, raw, ack) "+
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
		r.args(), func(scan func(dest ...any) error) error { return scan(&r.ID) })
}

func (r *Record) args() []any {
	var applied int64
	if !r.AppliedAt.IsZero() {
		applied = r.AppliedAt.UnixMicro()
	}
	raw, ack := r.Raw, r.Ack
	if raw == nil {
		raw = []byte{}
	}
	if ack == nil {
		ack = []byte{}
	}
	return []any{r.SendingApp, r.SendingFacility, r.ControlID, r.Type, r.Trigger, r.Version, r.ReceivedAt.UnixMicro(), r.Status,
		r.Error, r.ErrorCode, r.NHSNumber, strings.Join(r.Refs, " "), r.Remote, r.Attempts, applied, raw, ack}
}

// markApplied turns an errored row into an applied one inside tx (a
// replay); errDuplicate when it is no longer errored (another replay
// applied it first).
func markApplied(ctx context.Context, tx sqlTx, id int64, refs []string, ack []byte, now time.Time) error {
	found := false
	err := tx.QueryShared(ctx, "UPDATE hl7_message SET status = 'applied', error = '', error_code = '', refs = ?, ack = ?, applied_at = ?, attempts = attempts + 1 WHERE id = ? AND status = 'errored' RETURNING id",
		[]any{strings.Join(refs, " "), ack, now.UnixMicro(), id}, func(scan func(dest ...any) error) error { found = true; var x int64; return scan(&x) })
	if err != nil {
		return fmt.Errorf("feed: update message: %w", err)
	}
	if !found {
		return errDuplicate
	}
	return nil
}

// markFailed records another failed attempt of an errored row.
func markFailed(ctx context.Context, tx sqlTx, id int64, text, code string, ack []byte) error {
	return tx.ExecShared(ctx, "UPDATE hl7_message SET error = ?, error_code = ?, ack = ?, attempts = attempts + 1 WHERE id = ? AND status = 'errored'", text, code, ack, id)
}

// reader reads the message store outside transactions.
type reader interface {
	QueryShared(ctx context.Context, query string, args []any, row func(scan func(dest ...any) error) error) error
}

// firstOutcome returns the applied or errored row of a key, or nil.
func firstOutcome(ctx context.Context, db reader, app, fac, cid string) (*Record, error) {
	var out *Record
	err := db.QueryShared(ctx, "SELECT "+recordColumns+" FROM hl7_message WHERE sending_app = ? AND sending_facility = ? AND control_id = ? AND status IN ('applied', 'errored')",
		[]any{app, fac, cid}, func(scan func(dest ...any) error) error {
			r, err := scanRecord(scan)
			out = r
			return err
		})
	return out, err
}

// Query selects messages from the store; zero fields select everything.
type Query struct {
	ControlID string
	NHSNumber string
	Type      string // "ADT" or "ADT^A01"
	Status    string
	Sender    string // sending facility
	Since     time.Time
	Until     time.Time
	Before    int64 // paging cursor: rows with a smaller id
	Count     int
	Ascending bool // oldest first (replay); the HTTP list is newest first
	After     int64
}

// List returns the rows q selects, newest first (or oldest first when
// q.Ascending), at most q.Count (default 50, at most 1000).
func List(ctx context.Context, db reader, q Query) ([]*Record, error) {
	var where []string
	var args []any
	add := func(cond string, a ...any) { where = append(where, cond); args = append(args, a...) }
	if q.ControlID != "" {
		add("control_id = ?", q.ControlID)
	}
	if q.NHSNumber != "" {
		add("nhs_number = ?", q.NHSNumber)
	}
	if q.Type != "" {
		typ, trig, ok := strings.Cut(q.Type, "^")
		add("message_type = ?", strings.ToUpper(typ))
		if ok {
			add("trigger_event = ?", strings.ToUpper(trig))
		}
	}
	if q.Status != "" {
		add("status = ?", q.Status)
	}
	if q.Sender != "" {
		add("sending_facility = ?", q.Sender)
	}
	if !q.Since.IsZero() {
		add("received_at >= ?", q.Since.UnixMicro())
	}
	if !q.Until.IsZero() {
		add("received_at < ?", q.Until.UnixMicro())
	}
	if q.Before > 0 {
		add("id < ?", q.Before)
	}
	if q.After > 0 {
		add("id > ?", q.After)
	}
	if q.Count <= 0 {
		q.Count = 50
	}
	if q.Count > 1000 {
		q.Count = 1000
	}
	sql := "SELECT " + recordColumns + " FROM hl7_message"
	if len(where) > 0 {
		sql += " WHERE " + strings.Join(where, " AND ")
	}
	order := "DESC"
	if q.Ascending {
		order = "ASC"
	}
	sql += fmt.Sprintf(" ORDER BY id %s LIMIT %d", order, q.Count)
	var out []*Record
	err := db.QueryShared(ctx, sql, args, func(scan func(dest ...any) error) error {
		r, err := scanRecord(scan)
		if err == nil {
			out = append(out, r)
		}
		return err
	})
	return out, err
}

// Get returns one row by id, or nil.
func Get(ctx context.Context, db reader, id int64) (*Record, error) {
	var out *Record
	err := db.QueryShared(ctx, "SELECT "+recordColumns+" FROM hl7_message WHERE id = ?", []any{id}, func(scan func(dest ...any) error) error {
		r, err := scanRecord(scan)
		out = r
		return err
	})
	return out, err
}
