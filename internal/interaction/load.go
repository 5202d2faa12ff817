package interaction

import (
	"context"
	"errors"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/store"
)

// Load stores many resources at their own ids (update-as-create) in one
// store transaction, for bulk import and the demo population. Each is
// checked exactly as a PUT is (the same prepare, validation, business
// rules and automatic patient linking, then the same apply), so what
// import stores is what PUT would have stored; those refused get their
// error in errs and are not stored, and the rest are written together, so
// loading is one durable commit rather than one per resource. Load
// returns the stored versions (nil where refused) and an error only when
// the transaction itself failed.
func (s *Service) Load(ctx context.Context, reqs []*Request) ([]*store.Version, []error, error) {
	errs := make([]error, len(reqs))
	ops := make([]*writeOp, len(reqs))
	for i, req := range reqs {
		if req.Caller == nil {
			errs[i] = fhir.Errorf(401, fhir.IssueLogin, "The request has no authenticated caller")
			continue
		}
		if !s.opts.IsResourceType(req.Type) {
			errs[i] = fhir.Errorf(404, fhir.IssueNotSupported, "Unknown resource type %q", clip(req.Type))
			continue
		}
		if !fhir.ValidID(req.ID) {
			errs[i] = fhir.Errorf(400, fhir.IssueValue, "Invalid resource id %q", clip(req.ID))
			continue
		}
		r := *req
		r.Kind = Update
		if err := refuseAuditWrite(&r); err != nil {
			errs[i] = err
			continue
		}
		op, err := s.prepare(&r)
		if err == nil {
			err = s.autoLink(ctx, op)
		}
		ops[i], errs[i] = op, err
	}
	out := make([]*store.Version, len(reqs))
	err := s.store.Write(ctx, func(tx store.Tx) error {
		for i, op := range ops {
			out[i] = nil
			if errs[i] != nil {
				continue
			}
			if err := op.apply(ctx, tx); err != nil {
				var fe *fhir.Error
				if errors.As(err, &fe) {
					errs[i] = err
					continue
				}
				return err
			}
			out[i] = op.out
		}
		return s.auditLoad(ctx, tx, reqs, out)
	})
	if err != nil {
		return nil, errs, err
	}
	for _, v := range out {
		s.committed(v)
	}
	return out, errs, nil
}
