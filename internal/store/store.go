// Package store defines the storage contract shared by the SQLite and
// PostgreSQL backends: immutable resource versions, a current-version
// pointer per resource, and serialised write transactions.
//
// Backends live in store/sqlite and store/postgres and must both pass the
// behavioural suite in store/storetest.
package store

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound reports that no version of the requested resource (or the
// requested version) exists. Callers answer 404.
var ErrNotFound = errors.New("store: not found")

// ErrVersionConflict reports that a Put did not carry the version that
// follows the current one, because another writer got there first.
// Callers answer 409 (or 412 when the client sent If-Match) and may retry.
var ErrVersionConflict = errors.New("store: version conflict")

// ErrClosed is returned by every method after Close.
var ErrClosed = errors.New("store: closed")

// ErrHidden reports that the version asked for exists but the Filter
// passed with the read does not hold for it: the caller may not see it.
// The Version returned with it carries Type, ID, Version, Deleted and Seq
// but never the Body. Callers answer as the access rules say (404 to a
// patient, 403 to staff without a care relationship).
var ErrHidden = errors.New("store: hidden by the access filter")

// Filter is a condition on a stored version, written in the SQL both
// backends share (storesql: '?' placeholders, one per Arg) over the
// resource_version row named v (v.seq, v.type, v.id, v.version,
// v.last_updated, v.deleted, v.body). The access decision renders one
// per request; a store ANDs it to the query that reads the versions, so a
// version it does not hold for is never read, counted or paged over.
type Filter struct {
	SQL  string
	Args []any
}

// Version is one immutable version of one resource.
type Version struct {
	Type        string
	ID          string
	Version     int64     // 1, 2, 3, ... per resource
	LastUpdated time.Time // UTC, microsecond precision
	Deleted     bool      // a tombstone: Body is nil
	Body        []byte    // the resource JSON exactly as stored, meta included
	// Seq orders every version in the store: it only grows, and a version
	// with a higher Seq was committed after one with a lower Seq for the
	// same resource. Set by the store; ignored in Put.
	Seq int64
}

// Store is the whole storage contract.
type Store interface {
	// Read returns the current version of a resource. A deleted resource
	// returns its tombstone (Deleted=true) and a nil error; a resource that
	// never existed returns ErrNotFound.
	Read(ctx context.Context, typ, id string) (Version, error)
	// ReadVersion returns one version, tombstones included, or ErrNotFound.
	ReadVersion(ctx context.Context, typ, id string, version int64) (Version, error)
	// ReadWhere reads one version under the caller's access filter:
	// the current version when version is 0, else that version. where
	// nil reads as Read and ReadVersion do. A version that exists but for
	// which where does not hold returns ErrHidden (with no Body); one that
	// does not exist, ErrNotFound. The condition is evaluated in the same
	// statement that reads the version.
	ReadWhere(ctx context.Context, typ, id string, version int64, where *Filter) (Version, error)
	// History lists versions newest first (by Seq), see HistoryQuery.
	History(ctx context.Context, q HistoryQuery) (HistoryPage, error)
	// Write runs fn in one database transaction. Writes are serialised:
	// transactions that touch the same resource take effect one after the
	// other (SQLite runs every write transaction alone; PostgreSQL locks
	// the resource's row in Current and Put). If fn returns an error or
	// panics, nothing it wrote is kept. When Write returns nil the
	// transaction is durable (it survives a crash or power loss). Losing a
	// race with a concurrent transaction (including a deadlock) returns
	// ErrVersionConflict; the whole Write may then be retried.
	Write(ctx context.Context, fn func(Tx) error) error
	// Ping reports whether the database is reachable and migrated.
	Ping(ctx context.Context) error
	Close() error
}

// Tx is a write transaction handed to the function passed to Store.Write.
// It MUST NOT be used after that function returns.
//
// A backend's concrete Tx (*sqlite.Tx, *postgres.Tx) can do more than this
// interface, such as running its own SQL in the same transaction for the
// rows that search indexes keep beside a version; a layer that needs such
// a capability finds it by type assertion, as with database/sql/driver.
type Tx interface {
	// Current returns the current version (tombstone included) as seen
	// inside the transaction, or ErrNotFound. What it returns stays
	// current until the transaction ends: no other writer can put a newer
	// version of that resource in between.
	Current(ctx context.Context, typ, id string) (Version, error)
	// Put stores v as the new current version of (v.Type, v.ID). v.Version
	// MUST be exactly one more than the current version (1 for a new
	// resource); otherwise Put returns ErrVersionConflict. The store keeps
	// v.Body byte for byte; it never edits the JSON. It returns v with Seq set
	// and LastUpdated set to Now(); a non-zero v.LastUpdated other than Now()
	// is rejected, because the body's meta.lastUpdated must agree with the
	// version's. A tombstone (Deleted) has a nil Body; any other version a
	// non-empty one. A Put refused for its version number leaves the
	// transaction usable, so the caller may go on with something else.
	Put(ctx context.Context, v Version) (Version, error)
	// Visible reports whether where holds for the version stored at seq,
	// as seen inside the transaction (its own writes included): the
	// access check of a write, before and after it stores a version.
	Visible(ctx context.Context, seq int64, where *Filter) (bool, error)
	// Now is the transaction's clock: every version written in one
	// transaction shares it, and it never goes backwards between
	// transactions of one store.
	Now() time.Time
}

// HistoryQuery selects versions for the history interaction. Type and ID
// empty: system history; ID empty: type history; both set: instance history.
type HistoryQuery struct {
	Type, ID string
	// Since keeps versions with LastUpdated >= Since (when not zero).
	Since time.Time
	// AtLow/AtHigh (when AtHigh is not zero) keep versions that were current
	// at some moment in [AtLow, AtHigh): LastUpdated < AtHigh and not
	// replaced by a newer version at or before AtLow.
	AtLow, AtHigh time.Time
	// Before keeps versions with Seq < Before (when not zero): the paging
	// cursor. A first page passes 0 and reads Snapshot from the result.
	Before int64
	// Snapshot, when not zero, keeps versions with Seq <= Snapshot so that
	// paging is pinned to the moment of the first page.
	Snapshot int64
	// Open, with Snapshot, are the write transactions that were open at
	// the first page (HistoryPage.Open); their versions are left out.
	Open []int64
	// Count is the page size (at least 1).
	Count int
	// WithTotal asks for the number of matching versions (up to Snapshot).
	WithTotal bool
	// Where, when not nil, keeps only the versions it holds for: the
	// caller's access filter. It applies to the page and the total alike.
	Where *Filter
}

// MaxOpen bounds the open transactions a paging link (search cursor or
// history link) may carry: more than any connection limit a server runs
// with. A link naming more was not issued by this server.
const MaxOpen = 2000

// HistoryPage is one page of history.
type HistoryPage struct {
	Versions []Version
	// More reports that further versions match after this page; the next
	// page passes Before = Versions[len-1].Seq.
	More bool
	// Snapshot is the highest Seq the page could have seen; later pages pass it.
	Snapshot int64
	// Open are the write transactions open at Snapshot whose versions may
	// carry a lower seq and commit later (PostgreSQL, where seq is taken
	// at insert; empty on SQLite); later pages pass them with Snapshot.
	Open []int64
	// Total is the number of matching versions when WithTotal was set, else -1.
	Total int
}
