package audit

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/nhs-junction/junction/internal/store"
)

// TileHeight is the height of the log's tiles (c2sp.org/tlog-tiles:
// 256 hashes wide).
const TileHeight = 8

const (
	tileWidth = 1 << TileHeight
	hashSize  = sha256.Size
	saltSize  = 32
)

var (
	hasher = rfc6962.DefaultHasher
	ranges = &compact.RangeFactory{Hash: hasher.HashChildren}
)

// EntryFor returns the log entry (the leaf data) that commits to an
// AuditEvent version's stored body: SHA-256(salt || body). Its leaf hash
// is SHA-256(0x00 || entry) (RFC 6962 section 2.1).
func EntryFor(salt, body []byte) []byte {
	h := sha256.New()
	h.Write(salt)
	h.Write(body)
	return h.Sum(nil)
}

// Queue commits the AuditEvent version v to the log inside the write
// transaction tx, to be given its leaf index by the integrator after tx
// commits. Call it right after tx.Put stored v (v as Put returned it, Seq
// set). It takes no lock that other writers share: one INSERT. If tx
// rolls back, the leaf goes with the AuditEvent.
func Queue(ctx context.Context, tx store.Tx, v store.Version) error {
	ex, err := execerOf(tx)
	if err != nil {
		return err
	}
	return queue(ctx, ex, v)
}

func queue(ctx context.Context, ex Execer, v store.Version) error {
	switch {
	case v.Type != "AuditEvent":
		return fmt.Errorf("audit: only AuditEvents are logged, not %s", v.Type)
	case v.Deleted || len(v.Body) == 0:
		return errors.New("audit: an AuditEvent tombstone cannot be logged (AuditEvents are never deleted)")
	case v.ID == "" || v.Version < 1 || v.Seq < 1:
		return errors.New("audit: the AuditEvent version has no id, version or seq (pass the Version that Put returned)")
	}
	salt := make([]byte, saltSize)
	if _, err := rand.Read(salt); err != nil {
		return err
	}
	err := ex.ExecShared(ctx, "INSERT INTO audit_leaf (queued, ae_id, ae_version, idx, salt, entry) VALUES (?, ?, ?, NULL, ?, ?)",
		v.Seq, v.ID, v.Version, salt, EntryFor(salt, v.Body))
	if err != nil {
		return fmt.Errorf("audit: queue AuditEvent/%s/_history/%d: %w", v.ID, v.Version, err)
	}
	return nil
}

// Append commits v to the log like Queue and gives it its leaf index at
// once, inside tx: for an event whose position must be fixed when it is
// written. The index returned is final when tx commits; a signed
// checkpoint covering it follows at the integrator's next pass. Append
// takes the log's row lock until tx ends, so concurrent Appends (and the
// integrator) wait for each other: use Queue unless ordering matters, and
// call Append last in the transaction, after its other writes, so that
// the lock is held briefly and never before a resource row lock.
func (l *Log) Append(ctx context.Context, tx store.Tx, v store.Version) (uint64, error) {
	ex, err := execerOf(tx)
	if err != nil {
		return 0, err
	}
	if err := queue(ctx, ex, v); err != nil {
		return 0, err
	}
	_, size, err := l.integrateTx(ctx, ex, &take{id: v.ID, version: v.Version}, false)
	if err != nil {
		return 0, err
	}
	return size - 1, nil
}

// Integrate gives every queued leaf its index, in queue order, in
// transactions of at most Options.Batch leaves, and signs a checkpoint
// for the new tree after each. It returns the latest checkpoint. Run
// calls it; tests and tools may call it directly.
func (l *Log) Integrate(ctx context.Context) (Checkpoint, error) {
	for {
		var n int
		err := l.st.Write(ctx, func(tx store.Tx) error {
			ex, err := execerOf(tx)
			if err != nil {
				return err
			}
			n, _, err = l.integrateTx(ctx, ex, &take{limit: l.opts.Batch}, true)
			return err
		})
		if err != nil {
			return Checkpoint{}, err
		}
		if n < l.opts.Batch {
			return l.Checkpoint(ctx)
		}
	}
}

// take selects the queued leaves one integration gives indices to: up to
// limit in queue order, or the one of (id, version).
type take struct {
	limit   int
	id      string
	version int64
}

type queued struct {
	seq     int64
	id      string
	version int64
	entry   []byte
}

// integrateTx appends the leaves t selects (none when t is nil) to the
// tree inside ex's transaction, and signs a checkpoint when sign is set
// and the signed size is behind. It returns how many leaves it appended
// and the new tree size.
func (l *Log) integrateTx(ctx context.Context, ex Execer, t *take, sign bool) (int, uint64, error) {
	// The row lock orders integrations across connections and processes.
	// On PostgreSQL it is taken by this statement and later statements
	// see what the previous holder committed (READ COMMITTED takes a new
	// snapshot per statement); SQLite runs one write transaction at a time.
	if err := ex.ExecShared(ctx, "UPDATE audit_tree SET size = size WHERE id = 1"); err != nil {
		return 0, 0, fmt.Errorf("audit: lock the tree: %w", err)
	}
	var size int64
	var edge []byte
	if err := ex.QueryShared(ctx, "SELECT size, edge FROM audit_tree WHERE id = 1", nil, func(scan func(...any) error) error {
		return scan(&size, &edge)
	}); err != nil {
		return 0, 0, fmt.Errorf("audit: read the tree: %w", err)
	}
	rng, err := decodeEdge(uint64(size), edge)
	if err != nil {
		return 0, 0, err
	}
	var todo []queued
	if t != nil {
		scan := func(scan func(...any) error) error {
			var q queued
			if err := scan(&q.seq, &q.id, &q.version, &q.entry); err != nil {
				return err
			}
			todo = append(todo, q)
			return nil
		}
		if t.id != "" {
			err = ex.QueryShared(ctx, "SELECT queued, ae_id, ae_version, entry FROM audit_leaf WHERE ae_id = ? AND ae_version = ? AND idx IS NULL", []any{t.id, t.version}, scan)
		} else if t.limit > 0 {
			err = ex.QueryShared(ctx, "SELECT queued, ae_id, ae_version, entry FROM audit_leaf WHERE idx IS NULL ORDER BY queued LIMIT ?", []any{t.limit}, scan)
		}
		if err != nil {
			return 0, 0, fmt.Errorf("audit: read the queue: %w", err)
		}
		if t.id != "" && len(todo) != 1 {
			return 0, 0, fmt.Errorf("audit: AuditEvent/%s/_history/%d is not queued", t.id, t.version)
		}
	}
	tiles := &tileWriter{ex: ex, dirty: map[tileKey][]byte{}}
	var visitErr error
	visit := func(id compact.NodeID, hash []byte) {
		if id.Level%TileHeight == 0 && visitErr == nil {
			visitErr = tiles.add(ctx, int(id.Level/TileHeight), id.Index, hash)
		}
	}
	for _, q := range todo {
		if len(q.entry) != hashSize {
			return 0, 0, fmt.Errorf("audit: queued entry of AuditEvent/%s is %d bytes, not %d", q.id, len(q.entry), hashSize)
		}
		if err := ex.ExecShared(ctx, "UPDATE audit_leaf SET idx = ? WHERE queued = ?", int64(rng.End()), q.seq); err != nil {
			return 0, 0, fmt.Errorf("audit: index a leaf: %w", err)
		}
		if err := rng.Append(hasher.HashLeaf(q.entry), visit); err != nil {
			return 0, 0, err
		}
		if visitErr != nil {
			return 0, 0, visitErr
		}
	}
	if len(todo) > 0 {
		if err := tiles.flush(ctx); err != nil {
			return 0, 0, err
		}
		if err := ex.ExecShared(ctx, "UPDATE audit_tree SET size = ?, edge = ? WHERE id = 1", int64(rng.End()), encodeEdge(rng)); err != nil {
			return 0, 0, fmt.Errorf("audit: write the tree: %w", err)
		}
	}
	if sign {
		signed := int64(-1)
		if err := ex.QueryShared(ctx, "SELECT size FROM audit_checkpoint WHERE id = 1", nil, func(scan func(...any) error) error {
			return scan(&signed)
		}); err != nil {
			return 0, 0, fmt.Errorf("audit: read the checkpoint: %w", err)
		}
		if signed != int64(rng.End()) {
			cp, err := l.sign(rng)
			if err != nil {
				return 0, 0, err
			}
			if err := ex.ExecShared(ctx, "INSERT INTO audit_checkpoint (id, size, note) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET size = excluded.size, note = excluded.note",
				int64(cp.Size), string(cp.Note)); err != nil {
				return 0, 0, fmt.Errorf("audit: write the checkpoint: %w", err)
			}
		}
	}
	return len(todo), rng.End(), nil
}

// rootOf returns the RFC 6962 root of the tree a compact range from 0
// covers (the hash of the empty string for the empty tree).
func rootOf(rng *compact.Range) []byte {
	if rng.End() == 0 {
		return hasher.EmptyRoot()
	}
	root, err := rng.GetRootHash(nil)
	if err != nil {
		panic(err) // the range starts at 0
	}
	return root
}

// encodeEdge concatenates the compact range's hashes.
func encodeEdge(rng *compact.Range) []byte {
	return bytes.Join(rng.Hashes(), nil)
}

func decodeEdge(size uint64, edge []byte) (*compact.Range, error) {
	if len(edge)%hashSize != 0 {
		return nil, fmt.Errorf("audit: the stored tree edge is %d bytes, not a multiple of %d", len(edge), hashSize)
	}
	hashes := make([][]byte, 0, len(edge)/hashSize)
	for i := 0; i < len(edge); i += hashSize {
		hashes = append(hashes, edge[i:i+hashSize:i+hashSize])
	}
	rng, err := ranges.NewRange(0, size, hashes)
	if err != nil {
		return nil, fmt.Errorf("audit: the stored tree edge does not fit size %d: %w", size, err)
	}
	return rng, nil
}
