package storesql

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nhs-junction/junction/internal/store"
)

// ReadCurrent selects the current version of (typ, id): one primary-key
// lookup in resource, then the body by seq.
func ReadCurrent(typ, id string) *Select {
	s := &Select{Columns: VersionColumns, From: "resource r JOIN resource_version v ON v.seq = r.seq"}
	s.Where("r.type = ? AND r.id = ?", typ, id)
	return s
}

// ReadWhere selects one version (the current one when version is 0) with
// a last column telling whether where holds for it (1) or not (0), so one
// statement tells a hidden version from a missing one. The body column is
// NULL when where does not hold, so a hidden body never leaves the
// database.
func ReadWhere(typ, id string, version int64, where *store.Filter) *Select {
	var s *Select
	if version == 0 {
		s = ReadCurrent(typ, id)
	} else {
		s = ReadVersion(typ, id, version)
	}
	if where == nil {
		s.Columns += ", 1"
		return s
	}
	s.Columns = "v.seq, v.type, v.id, v.version, v.last_updated, v.deleted, CASE WHEN (" + where.SQL + ") THEN v.body END, CASE WHEN (" + where.SQL + ") THEN 1 ELSE 0 END"
	s.ColumnArgs = append(append([]any(nil), where.Args...), where.Args...)
	return s
}

// ScanVisible scans a row of ReadWhere: the version, and ErrHidden (with
// the body left out) when the filter did not hold. A scan error, such as
// the driver's no-rows error, is returned as it is.
func ScanVisible(scan func(dest ...any) error) (store.Version, error) {
	var v store.Version
	var lastUpdated int64
	var visible int
	if err := scan(&v.Seq, &v.Type, &v.ID, &v.Version, &lastUpdated, &v.Deleted, &v.Body, &visible); err != nil {
		return store.Version{}, err
	}
	v.LastUpdated = FromMicros(lastUpdated)
	if visible == 0 {
		v.Body = nil
		return v, store.ErrHidden
	}
	return v, nil
}

// Visible reports whether where holds for the version at seq, through a
// QueryShared of the transaction that asks.
func Visible(ctx context.Context, query func(ctx context.Context, query string, args []any, row func(scan func(dest ...any) error) error) error, seq int64, where *store.Filter) (bool, error) {
	if where == nil {
		return true, nil
	}
	found := false
	err := query(ctx, "SELECT 1 FROM resource_version v WHERE v.seq = ? AND ("+where.SQL+")", append([]any{seq}, where.Args...), func(scan func(dest ...any) error) error {
		found = true
		var one int
		return scan(&one)
	})
	return found, err
}

// ReadSeq selects the version stored at seq.
func ReadSeq(seq int64) *Select {
	s := &Select{Columns: VersionColumns, From: "resource_version v"}
	s.Where("v.seq = ?", seq)
	return s
}

// ReadVersion selects one version of (typ, id) by its unique key.
func ReadVersion(typ, id string, version int64) *Select {
	s := &Select{Columns: VersionColumns, From: "resource_version v"}
	s.Where("v.type = ? AND v.id = ? AND v.version = ?", typ, id, version)
	return s
}

// MaxSeq is the highest seq in the store (0 when empty): the Snapshot of a
// first history page. It is answered from the end of the primary key.
const MaxSeq = "SELECT coalesce(max(seq), 0) FROM resource_version"

// InsertVersion adds one resource_version row and returns its seq, or no
// row when that version of the resource is already stored. The argument
// order is type, id, version, last_updated, deleted, body.
//
// DO NOTHING rather than a unique violation: on PostgreSQL, when a
// concurrent transaction creates the same resource first, the insert waits
// for it and then returns no row, and the transaction stays usable, so the
// caller can recover from the conflict the same way on both backends.
const InsertVersion = "INSERT INTO resource_version (type, id, version, last_updated, deleted, body) VALUES (?, ?, ?, ?, ?, ?) " +
	"ON CONFLICT (type, id, version) DO NOTHING RETURNING seq"

// UpsertCurrent points resource at a new version. The argument order is
// type, id, version, seq, deleted. The caller has already checked that the
// version follows the current one.
const UpsertCurrent = "INSERT INTO resource (type, id, version, seq, deleted) VALUES (?, ?, ?, ?, ?) " +
	"ON CONFLICT (type, id) DO UPDATE SET version = excluded.version, seq = excluded.seq, deleted = excluded.deleted"

// CheckHistory rejects a query the store cannot answer as written; the
// interaction layer is expected to have filled in defaults already.
func CheckHistory(q store.HistoryQuery) error {
	switch {
	case q.Count < 1:
		return errors.New("store: history Count must be at least 1")
	case q.ID != "" && q.Type == "":
		return errors.New("store: history ID given without Type")
	case q.Before < 0 || q.Snapshot < 0:
		return errors.New("store: history Before and Snapshot must not be negative")
	}
	return nil
}

// History builds the page query and the total query for q, both pinned to
// snapshot (the highest seq the first page could see). The page query asks
// for Count+1 rows so that the caller can tell whether more follow without
// a second query.
//
// The _at condition keeps a version that was current at some moment in
// [AtLow, AtHigh): it started before AtHigh, and its successor (version+1
// of the same resource, found through the unique key) did not start at or
// before AtLow. The successor is looked for within the snapshot too, so a
// page read later answers as of the first page.
//
// seqFollowsTime tells that last_updated never decreases as seq grows (true
// on SQLite, whose single writer takes each transaction's time above every
// stored one; not on PostgreSQL, where concurrent transactions draw seq and
// time in different orders). Then a time bound is also turned into a seq
// bound found with one probe of the time index, so a page that starts at a
// time reads from there instead of scanning every newer version.
func History(q store.HistoryQuery, snapshot int64, seqFollowsTime bool) (page, total *Select) {
	s := &Select{Columns: VersionColumns, From: "resource_version v"}
	if q.Type != "" {
		s.Where("v.type = ?", q.Type)
	}
	// seq is how conditions name v.seq. For one resource the unary plus
	// (valid in both dialects) keeps the planner from walking the type's
	// (type, seq) index instead of the few rows under the unique key
	// (type, id, version), which SQLite does when it has no statistics.
	seq := "v.seq"
	if q.ID != "" {
		s.Where("v.id = ?", q.ID)
		seq = "+v.seq"
	}
	s.Where(seq+" <= ?", snapshot)
	if q.Where != nil {
		s.Where(q.Where.SQL, q.Where.Args...)
	}
	if len(q.Open) > 0 {
		// PostgreSQL only: versions of transactions open at the first
		// page, by the xmin system column.
		s.Where(NotOpen("v", q.Open))
	}
	// The first seq written at or after a time; past the snapshot if none.
	const firstSeqAt = "coalesce((SELECT f.seq FROM resource_version f WHERE f.last_updated >= ? ORDER BY f.last_updated, f.seq LIMIT 1), ?)"
	if !q.Since.IsZero() {
		s.Where("v.last_updated >= ?", Micros(q.Since))
		if seqFollowsTime {
			s.Where(seq+" >= "+firstSeqAt, Micros(q.Since), snapshot+1)
		}
	}
	if !q.AtHigh.IsZero() {
		s.Where("v.last_updated < ?", Micros(q.AtHigh))
		if seqFollowsTime {
			s.Where(seq+" < "+firstSeqAt, Micros(q.AtHigh), snapshot+1)
		}
		notOpen := ""
		if len(q.Open) > 0 {
			notOpen = " AND " + NotOpen("n", q.Open)
		}
		s.Where("NOT EXISTS (SELECT 1 FROM resource_version n WHERE n.type = v.type AND n.id = v.id AND n.version = v.version + 1 AND n.seq <= ? AND n.last_updated <= ?"+notOpen+")",
			snapshot, Micros(q.AtLow))
	}
	total = s.Clone()
	total.Columns = "count(*)"

	if q.Before > 0 {
		s.Where(seq+" < ?", q.Before)
	}
	s.OrderBy = "v.seq DESC"
	if q.ID != "" {
		// The same order for one resource (its seq grows with its version),
		// but one the unique key (type, id, version) serves directly, so
		// the planner cannot prefer walking the whole type by seq.
		s.OrderBy = "v.version DESC"
	}
	s.Limit = q.Count + 1
	return s, total
}

// CheckPut rejects a version that cannot be stored as given and returns
// it with LastUpdated set to the transaction clock now.
func CheckPut(v store.Version, now time.Time) (store.Version, error) {
	switch {
	case v.Type == "" || v.ID == "":
		return v, errors.New("store: Put without Type or ID")
	case v.Version < 1:
		return v, fmt.Errorf("store: Put %s/%s with version %d", v.Type, v.ID, v.Version)
	case v.Deleted && v.Body != nil:
		return v, fmt.Errorf("store: Put %s/%s: a tombstone has no body", v.Type, v.ID)
	case !v.Deleted && len(v.Body) == 0:
		return v, fmt.Errorf("store: Put %s/%s without a body", v.Type, v.ID)
	case !v.LastUpdated.IsZero() && !v.LastUpdated.Equal(now):
		// The body's meta.lastUpdated was written by the caller; a row
		// stamped with another time would make history disagree with it.
		return v, fmt.Errorf("store: Put %s/%s with LastUpdated %s, not the transaction clock %s",
			v.Type, v.ID, v.LastUpdated.Format(time.RFC3339Nano), now.Format(time.RFC3339Nano))
	}
	v.LastUpdated = now
	return v, nil
}

// Conflict is the error Put returns when v.Version does not follow current.
// It names the resource and versions but never database text, because
// callers may show it to clients.
func Conflict(v store.Version, current int64) error {
	return fmt.Errorf("%w: %s/%s is at version %d, cannot write version %d",
		store.ErrVersionConflict, v.Type, v.ID, current, v.Version)
}

// NotOpen is the PostgreSQL condition that version alias v was not
// written by one of the open transactions (xids modulo 2^32, as the xmin
// system column holds them). The xids are numbers this package was
// handed as int64, so they are written into the SQL directly.
func NotOpen(v string, open []int64) string {
	parts := make([]string, len(open))
	for i, x := range open {
		parts[i] = strconv.FormatInt(x, 10)
	}
	return "CAST(CAST(" + v + ".xmin AS text) AS bigint) NOT IN (" + strings.Join(parts, ", ") + ")"
}
