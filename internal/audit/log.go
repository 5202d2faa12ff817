package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"

	"github.com/nhs-junction/junction/internal/store"
)

// ErrNotLogged reports that an AuditEvent version has no leaf in the log:
// it was never queued. Callers answer 404.
var ErrNotLogged = errors.New("audit: not in the log")

// ErrPending reports that an AuditEvent version is queued but not yet
// covered by a signed checkpoint. The integrator covers it within
// Options.Interval; callers answer 503 with Retry-After, or retry.
var ErrPending = errors.New("audit: not yet in a signed checkpoint")

// ErrTreeSize reports a leaf index or tree size outside the latest signed
// checkpoint, or sizes in the wrong order. Callers answer 400.
var ErrTreeSize = errors.New("audit: index or tree size outside the signed tree")

// DB is what the log reads: queries in the SQL the backends share
// ('?' placeholders), on committed data. store/sqlite.Store and
// store/postgres.Store implement it.
type DB interface {
	QueryShared(ctx context.Context, query string, args []any, row func(scan func(dest ...any) error) error) error
}

// Execer is what the log needs of a write transaction: statements and
// queries in the shared SQL that commit or roll back with it. The
// transactions of store/sqlite and store/postgres implement it. A layer
// that wraps a store.Tx either implements Execer itself or offers
// Unwrap() store.Tx, which the log follows.
type Execer interface {
	ExecShared(ctx context.Context, query string, args ...any) error
	QueryShared(ctx context.Context, query string, args []any, row func(scan func(dest ...any) error) error) error
}

// execerOf finds the Execer of tx, following Unwrap.
func execerOf(tx store.Tx) (Execer, error) {
	for i := 0; i < 8 && tx != nil; i++ {
		if ex, ok := tx.(Execer); ok {
			return ex, nil
		}
		u, ok := tx.(interface{ Unwrap() store.Tx })
		if !ok {
			break
		}
		tx = u.Unwrap()
	}
	return nil, fmt.Errorf("audit: transaction %T cannot run the log's SQL (no ExecShared/QueryShared, no Unwrap)", tx)
}

// Options configure a Log. The zero value is usable.
type Options struct {
	// Origin names the log: the first line of its checkpoints and the
	// name of its key (c2sp.org/tlog-tiles: the scheme-less URL prefix of
	// the log, e.g. "fhir.example.nhs.uk/log"). It is fixed when the key
	// is made on first start; later a different non-empty Origin is an
	// error. Empty on first start: "junction.local/" and 16 random hex
	// digits.
	Origin string
	// Interval is how often Run integrates queued leaves when nothing
	// calls Notify (default 500ms).
	Interval time.Duration
	// Batch is the most leaves one integration transaction takes
	// (default 4096).
	Batch int
	// Logger receives the integrator's failures (default slog.Default()).
	Logger *slog.Logger
}

// Log is the transparency log of AuditEvents in one store. Its methods
// are safe for concurrent use, also by several processes sharing the
// database: each integration takes the log's row lock (audit_tree).
type Log struct {
	st       store.Store
	db       DB
	origin   string
	signer   note.Signer
	verifier note.Verifier
	vkey     string
	opts     Options
	wake     chan struct{}
}

// Open returns the log of st, making its Ed25519 key and the empty tree's
// checkpoint on first start. st must implement DB, and the transactions
// its Write hands out Execer (store/sqlite and store/postgres do); the
// audit_ tables come from the store's migrations.
func Open(ctx context.Context, st store.Store, opts Options) (*Log, error) {
	db, ok := st.(DB)
	if !ok {
		return nil, fmt.Errorf("audit: store %T offers no SQL access (QueryShared)", st)
	}
	if opts.Interval <= 0 {
		opts.Interval = 500 * time.Millisecond
	}
	if opts.Batch <= 0 {
		opts.Batch = 4096
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Origin != "" {
		if err := checkOrigin(opts.Origin); err != nil {
			return nil, err
		}
	}
	l := &Log{st: st, db: db, opts: opts, wake: make(chan struct{}, 1)}
	var origin, skey, vkey string
	err := st.Write(ctx, func(tx store.Tx) error {
		ex, err := execerOf(tx)
		if err != nil {
			return err
		}
		origin, skey, vkey, err = readKey(ctx, ex)
		if err != nil {
			return err
		}
		if skey == "" {
			if origin, skey, vkey, err = newKey(opts.Origin); err != nil {
				return err
			}
			// Two processes starting at once: the second waits for the
			// first's row (the primary key) and keeps it.
			if err := ex.ExecShared(ctx, "INSERT INTO audit_key (id, origin, signer, verifier, created) VALUES (1, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
				origin, skey, vkey, time.Now().UnixMicro()); err != nil {
				return fmt.Errorf("audit: store the log key: %w", err)
			}
			if origin, skey, vkey, err = readKey(ctx, ex); err != nil {
				return err
			}
		}
		if err := l.setKey(origin, skey, vkey); err != nil {
			return err
		}
		// The empty tree gets its checkpoint at once, so /log/checkpoint
		// always answers.
		_, _, err = l.integrateTx(ctx, ex, nil, true)
		return err
	})
	if err != nil {
		return nil, err
	}
	if opts.Origin != "" && opts.Origin != origin {
		return nil, fmt.Errorf("audit: the log's origin is %q (fixed when its key was made); the configured origin %q differs", origin, opts.Origin)
	}
	return l, nil
}

func readKey(ctx context.Context, ex Execer) (origin, skey, vkey string, err error) {
	err = ex.QueryShared(ctx, "SELECT origin, signer, verifier FROM audit_key WHERE id = 1", nil, func(scan func(...any) error) error {
		return scan(&origin, &skey, &vkey)
	})
	if err != nil {
		err = fmt.Errorf("audit: read the log key: %w", err)
	}
	return origin, skey, vkey, err
}

// newKey makes an Ed25519 note key named origin.
func newKey(origin string) (string, string, string, error) {
	if origin == "" {
		b := make([]byte, 8)
		if _, err := rand.Read(b); err != nil {
			return "", "", "", err
		}
		origin = "junction.local/" + hex.EncodeToString(b)
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		return "", "", "", fmt.Errorf("audit: make the log key: %w", err)
	}
	return origin, skey, vkey, nil
}

func (l *Log) setKey(origin, skey, vkey string) error {
	signer, err := note.NewSigner(skey)
	if err != nil {
		return fmt.Errorf("audit: the stored log key is unusable: %w", err)
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return fmt.Errorf("audit: the stored verifier key is unusable: %w", err)
	}
	if signer.Name() != origin || verifier.Name() != origin || signer.KeyHash() != verifier.KeyHash() {
		return errors.New("audit: the stored log key does not match its origin or verifier key")
	}
	l.origin, l.signer, l.verifier, l.vkey = origin, signer, verifier, vkey
	return nil
}

// checkOrigin applies c2sp.org/signed-note's rules for key names (the
// origin is the key's name): non-empty UTF-8, no Unicode spaces, no '+',
// no control characters.
func checkOrigin(o string) error {
	if !utf8.ValidString(o) || strings.ContainsFunc(o, func(r rune) bool { return unicode.IsSpace(r) || r == '+' || unicode.IsControl(r) }) {
		return fmt.Errorf("audit: origin %q must be non-empty UTF-8 without spaces, '+' or control characters", o)
	}
	return nil
}

// Origin returns the log's origin: the first line of its checkpoints.
func (l *Log) Origin() string { return l.origin }

// VerifierKey returns the log's public key as a c2sp.org/signed-note
// verifier key ("<origin>+<key id>+<base64 key>"): what a verifier or
// witness needs to check checkpoints. Print it at start-up.
func (l *Log) VerifierKey() string { return l.vkey }

// Verifier returns the note verifier of the log's key.
func (l *Log) Verifier() note.Verifier { return l.verifier }

// Notify wakes Run to integrate now, e.g. after a write committed
// AuditEvents. It never blocks.
func (l *Log) Notify() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Run integrates queued leaves and signs checkpoints until ctx is done:
// at every Notify and at least every Options.Interval. A failed pass is
// logged and retried at the next; Run returns nil when ctx ends or the
// store is closed.
func (l *Log) Run(ctx context.Context) error {
	t := time.NewTicker(l.opts.Interval)
	defer t.Stop()
	for {
		if _, err := l.Integrate(ctx); err != nil && ctx.Err() == nil {
			if errors.Is(err, store.ErrClosed) {
				return nil // the store closed under it: the server is stopping
			}
			l.opts.Logger.Error("audit log: integration failed; retrying", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-l.wake:
		}
	}
}
