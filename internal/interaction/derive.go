package interaction

import (
	"context"

	"github.com/nhs-junction/junction/internal/store"
)

// Deriver computes the resources that follow from a write, such as a
// NEWS2 score from a complete set of vital signs, and stores them in the
// write's own database transaction, so that the write and what it implies
// commit together or not at all.
//
// Derive is called inside the transaction of every create, update, patch
// and delete, and of every transaction Bundle, after the write's own
// versions are stored and before the commit. written holds those
// versions (tombstones for deletes). The deriver stores its resources
// with tx.Put, which also indexes them; it may search inside tx (search
// engines expose SearchTx for that) and sees the write's own versions.
// A non-nil error rolls the whole write back and is returned to the
// client as it is (a *fhir.Error keeps its status; anything else is a
// 500). Derive may run more than once for one write, when the store
// retries the transaction, and MUST NOT keep tx after it returns. The
// resources it stores are not passed to Derive again.
type Deriver interface {
	Derive(ctx context.Context, tx store.Tx, written []store.Version) error
}

// SetDeriver installs d, which every later write calls (see Deriver).
// It must be called before the Service serves requests.
func (s *Service) SetDeriver(d Deriver) { s.deriver = d }

// derive hands the versions ops stored to the Deriver, if any.
func (s *Service) derive(ctx context.Context, tx store.Tx, ops []*writeOp) error {
	if s.deriver == nil {
		return nil
	}
	var written []store.Version
	for _, op := range ops {
		if op.out != nil {
			written = append(written, *op.out)
		}
	}
	if len(written) == 0 {
		return nil
	}
	return s.deriver.Derive(ctx, tx, written)
}
