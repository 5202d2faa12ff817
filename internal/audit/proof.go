package audit

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"

	"golang.org/x/mod/sumdb/tlog"
)

// Proof is an inclusion proof of one AuditEvent version in a signed tree
// (RFC 9162 section 2.1.3): with the AuditEvent's stored body and Salt, a
// client recomputes Entry = SHA-256(Salt || body), the leaf hash
// SHA-256(0x00 || Entry), and from it and Hashes the root of the tree of
// Size leaves, which the signed Checkpoint states.
type Proof struct {
	ID         string // the AuditEvent id
	Version    int64  // and version
	Index      uint64 // leaf index
	Size       uint64 // tree size the proof is for: the checkpoint's
	Salt       []byte
	Entry      []byte
	LeafHash   []byte
	Root       []byte
	Hashes     [][]byte // the audit path, leaf to root
	Checkpoint []byte   // the signed checkpoint of Size and Root
}

// Consistency is a consistency proof between two sizes of the tree (RFC
// 9162 section 2.1.4), with both roots; To is the signed Checkpoint's size.
type Consistency struct {
	From, To         uint64
	FromRoot, ToRoot []byte
	Hashes           [][]byte
	Checkpoint       []byte
}

// signedTree returns the latest checkpoint and a tlog.HashReader over
// the stored tiles that checks each tile against it, so that every hash a
// proof uses is proven to belong to the signed tree.
func (l *Log) signedTree(ctx context.Context) (Checkpoint, tlog.HashReader, error) {
	cp, err := l.Checkpoint(ctx)
	if err != nil {
		return Checkpoint{}, nil, err
	}
	var root tlog.Hash
	copy(root[:], cp.Root)
	return cp, tlog.TileHashReader(tlog.Tree{N: int64(cp.Size), Hash: root}, tileReader{ctx: ctx, db: l.db}), nil
}

// InclusionProof returns the audit path of leaf index in the tree of
// size leaves, which must be at most the latest checkpoint's size
// (ErrTreeSize otherwise), with the root of that tree.
func (l *Log) InclusionProof(ctx context.Context, index, size uint64) (path [][]byte, root []byte, err error) {
	cp, hr, err := l.signedTree(ctx)
	if err != nil {
		return nil, nil, err
	}
	if size == 0 || size > cp.Size || index >= size {
		return nil, nil, fmt.Errorf("%w: leaf %d of a tree of %d (signed: %d)", ErrTreeSize, index, size, cp.Size)
	}
	p, err := tlog.ProveRecord(int64(size), int64(index), hr)
	if err != nil {
		return nil, nil, fmt.Errorf("audit: inclusion proof: %w", err)
	}
	th, err := tlog.TreeHash(int64(size), hr)
	if err != nil {
		return nil, nil, fmt.Errorf("audit: tree hash: %w", err)
	}
	return hashList(p), th[:], nil
}

// ConsistencyProof returns the proof that the tree of size from is a
// prefix of the tree of size to, with both roots. 0 <= from <= to <= the
// latest checkpoint's size (ErrTreeSize otherwise); to == 0 means the
// latest checkpoint's size. The proof is empty when from is 0 or equal to
// to.
func (l *Log) ConsistencyProof(ctx context.Context, from, to uint64) (*Consistency, error) {
	cp, hr, err := l.signedTree(ctx)
	if err != nil {
		return nil, err
	}
	if to == 0 {
		to = cp.Size
	}
	if from > to || to > cp.Size {
		return nil, fmt.Errorf("%w: from %d to %d (signed: %d)", ErrTreeSize, from, to, cp.Size)
	}
	c := &Consistency{From: from, To: to, Checkpoint: cp.Note, Hashes: [][]byte{}}
	rootAt := func(n uint64) ([]byte, error) {
		if n == 0 {
			return hasher.EmptyRoot(), nil
		}
		th, err := tlog.TreeHash(int64(n), hr)
		return th[:], err
	}
	if c.FromRoot, err = rootAt(from); err != nil {
		return nil, fmt.Errorf("audit: tree hash: %w", err)
	}
	if c.ToRoot, err = rootAt(to); err != nil {
		return nil, fmt.Errorf("audit: tree hash: %w", err)
	}
	if from > 0 && from < to {
		p, err := tlog.ProveTree(int64(to), int64(from), hr)
		if err != nil {
			return nil, fmt.Errorf("audit: consistency proof: %w", err)
		}
		c.Hashes = hashList(p)
	}
	return c, nil
}

// Prove returns the inclusion proof of AuditEvent/id/_history/version in
// the latest signed tree; version 0 means the newest logged version. It
// returns ErrNotLogged when the version has no leaf, and ErrPending when
// the leaf is not yet covered by a signed checkpoint.
func (l *Log) Prove(ctx context.Context, id string, version int64) (*Proof, error) {
	q := "SELECT ae_version, idx, salt, entry FROM audit_leaf WHERE ae_id = ? AND ae_version = ?"
	args := []any{id, version}
	if version == 0 {
		q, args = "SELECT ae_version, idx, salt, entry FROM audit_leaf WHERE ae_id = ? ORDER BY ae_version DESC LIMIT 1", []any{id}
	}
	p := &Proof{ID: id}
	var idx *int64
	found := false
	err := l.db.QueryShared(ctx, q, args, func(scan func(...any) error) error {
		found = true
		return scan(&p.Version, &idx, &p.Salt, &p.Entry)
	})
	if err != nil {
		return nil, fmt.Errorf("audit: find the leaf: %w", err)
	}
	if !found {
		return nil, ErrNotLogged
	}
	cp, err := l.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	if idx == nil || uint64(*idx) >= cp.Size {
		return nil, ErrPending
	}
	p.Index, p.Size, p.Checkpoint = uint64(*idx), cp.Size, cp.Note
	p.LeafHash = hasher.HashLeaf(p.Entry)
	if p.Hashes, p.Root, err = l.InclusionProof(ctx, p.Index, p.Size); err != nil {
		return nil, err
	}
	return p, nil
}

func hashList[T ~[]tlog.Hash](p T) [][]byte {
	out := make([][]byte, len(p))
	for i := range p {
		out[i] = append([]byte(nil), p[i][:]...)
	}
	return out
}

// Parameters returns p as a FHIR R4 Parameters resource, the answer of
// GET /fhir/AuditEvent/{id}/$proof. Sizes and indices are decimal
// strings (valueString), because R4's integer is 32 bits; hashes are
// valueBase64Binary; the audit path is one "path" parameter per hash, in
// order from the leaf.
func (p *Proof) Parameters() []byte {
	ps := []param{
		{Name: "auditEvent", ValueReference: &reference{Reference: "AuditEvent/" + p.ID + "/_history/" + strconv.FormatInt(p.Version, 10)}},
		{Name: "leafIndex", ValueString: strconv.FormatUint(p.Index, 10)},
		{Name: "treeSize", ValueString: strconv.FormatUint(p.Size, 10)},
		b64("salt", p.Salt), b64("entry", p.Entry), b64("leafHash", p.LeafHash), b64("rootHash", p.Root),
	}
	for _, h := range p.Hashes {
		ps = append(ps, b64("path", h))
	}
	ps = append(ps, param{Name: "checkpoint", ValueString: string(p.Checkpoint)})
	return encode(parameters{ResourceType: "Parameters", Parameter: ps})
}

// Parameters returns c as a FHIR R4 Parameters resource, the answer of
// GET /log/consistency?from=&to=: from and to as decimal strings, both
// root hashes, one "path" parameter per proof hash, and the checkpoint.
func (c *Consistency) Parameters() []byte {
	ps := []param{
		{Name: "from", ValueString: strconv.FormatUint(c.From, 10)},
		{Name: "to", ValueString: strconv.FormatUint(c.To, 10)},
		b64("fromRoot", c.FromRoot), b64("toRoot", c.ToRoot),
	}
	for _, h := range c.Hashes {
		ps = append(ps, b64("path", h))
	}
	ps = append(ps, param{Name: "checkpoint", ValueString: string(c.Checkpoint)})
	return encode(parameters{ResourceType: "Parameters", Parameter: ps})
}

type parameters struct {
	ResourceType string  `json:"resourceType"`
	Parameter    []param `json:"parameter"`
}

type param struct {
	Name              string     `json:"name"`
	ValueString       string     `json:"valueString,omitempty"`
	ValueBase64Binary string     `json:"valueBase64Binary,omitempty"`
	ValueReference    *reference `json:"valueReference,omitempty"`
}

func b64(name string, b []byte) param {
	return param{Name: name, ValueBase64Binary: base64.StdEncoding.EncodeToString(b)}
}
