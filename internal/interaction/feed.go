package interaction

import (
	"context"

	"github.com/nhs-junction/junction/internal/store"
)

// CommitHook runs inside the database transaction of a write, after the
// write's own changes and before the commit. written lists, as Type/id,
// every resource the write stored a version of. A non-nil error rolls the
// whole transaction back (nothing the write did is kept) and is returned
// by Do as it is, so the caller can recognise its own errors with
// errors.Is. The hook MUST NOT keep tx after it returns; it may run its
// own SQL in the same transaction through the backend's concrete Tx (see
// search.Unwrap), and it may be called more than once when the store
// retries the transaction.
//
// A message feed uses it to store the message it applied in the same
// transaction as the resources it produced, so that acknowledging the
// message after Do returns means both are durable.
type CommitHook func(ctx context.Context, tx store.Tx, written []string) error

type commitHookKey struct{}

// WithCommitHook returns ctx carrying h. A transaction Bundle and a
// Patient $merge run by Do with that ctx call h inside their database
// transaction; other interactions ignore it.
func WithCommitHook(ctx context.Context, h CommitHook) context.Context {
	return context.WithValue(ctx, commitHookKey{}, h)
}

// runCommitHook calls the hook ctx carries, if any.
func runCommitHook(ctx context.Context, tx store.Tx, written []string) error {
	h, _ := ctx.Value(commitHookKey{}).(CommitHook)
	if h == nil {
		return nil
	}
	return h(ctx, tx, written)
}
