package authn

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/nhs-junction/junction/internal/store"
)

// DB is the database access the authorisation server needs: the backend
// store itself (*sqlite.Store or *postgres.Store, or search.Engine's
// embedded Store), not a search.Engine, whose transactions hide the
// backend's SQL methods. Queries use the SQL both backends share ('?'
// placeholders), and the transactions Write hands out MUST implement
// ExecShared and QueryShared, as both backends' do.
type DB interface {
	// QueryShared runs a read-only query, calling row for each result row.
	QueryShared(ctx context.Context, query string, args []any, row func(scan func(dest ...any) error) error) error
	// Write runs fn in one transaction.
	Write(ctx context.Context, fn func(store.Tx) error) error
}

// sqlTx is what a backend transaction offers beyond store.Tx.
type sqlTx interface {
	ExecShared(ctx context.Context, query string, args ...any) error
	QueryShared(ctx context.Context, query string, args []any, row func(scan func(dest ...any) error) error) error
}

// ErrNotFound reports that a user, client or grant does not exist.
var ErrNotFound = errors.New("authn: not found")

// ErrExists reports that a username (or other unique name) is taken.
var ErrExists = errors.New("authn: already exists")

// write runs fn in one transaction of db.
func write(ctx context.Context, db DB, fn func(tx sqlTx) error) error {
	return db.Write(ctx, func(t store.Tx) error {
		tx, ok := t.(sqlTx)
		if !ok {
			return fmt.Errorf("authn: transaction %T offers no SQL access (pass the backend store, not a search.Engine)", t)
		}
		return fn(tx)
	})
}

// queryOne runs a query expected to return at most one row, scanning it
// into dest. It reports whether a row was found.
func queryOne(ctx context.Context, q interface {
	QueryShared(ctx context.Context, query string, args []any, row func(scan func(dest ...any) error) error) error
}, query string, args []any, dest ...any) (bool, error) {
	found := false
	err := q.QueryShared(ctx, query, args, func(scan func(...any) error) error {
		if found {
			return nil
		}
		found = true
		return scan(dest...)
	})
	return found, err
}

// randomToken returns n random bytes, base64url-encoded without padding.
func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// newID returns a random identifier of 128 bits in lower-case hex, usable
// as a client id, user id or FHIR-safe id.
func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// hashSecret returns the SHA-256 of a high-entropy secret (a code or a
// refresh token) in hex: what the database keeps instead of the secret.
func hashSecret(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// joinList and splitList store lists as space-separated text.
func joinList(l []string) string { return strings.Join(l, " ") }

func splitList(s string) []string { return strings.Fields(s) }

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
