package interaction

import (
	"context"
	"errors"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/store"
)

// Load stores many resources at their own ids (update-as-create) in one
// store transaction, for bulk import. Each resource is validated first;
// those that fail get their error in errs and are not stored, and the
// rest are written together, so loading is one durable commit rather
// than one per resource. Load returns the stored versions (nil where
// refused) and an error only when the transaction itself failed.
func (s *Service) Load(ctx context.Context, reqs []*Request) ([]*store.Version, []error, error) {
	errs := make([]error, len(reqs))
	objs := make([]*fhir.Object, len(reqs))
	for i, req := range reqs {
		if !s.opts.IsResourceType(req.Type) {
			errs[i] = fhir.Errorf(404, fhir.IssueNotSupported, "Unknown resource type %q", clip(req.Type))
			continue
		}
		if !fhir.ValidID(req.ID) {
			errs[i] = fhir.Errorf(400, fhir.IssueValue, "Invalid resource id %q", clip(req.ID))
			continue
		}
		obj, err := s.parseBody(req.Body, req.Type)
		if err == nil {
			if id, _ := obj.GetString("id"); id != "" && id != req.ID {
				err = fhir.Errorf(400, fhir.IssueInvalid, "The id in the body (%q) differs from %q", clip(id), req.ID)
			}
		}
		objs[i], errs[i] = obj, err
	}
	out := make([]*store.Version, len(reqs))
	err := s.store.Write(ctx, func(tx store.Tx) error {
		now := tx.Now()
		for i, req := range reqs {
			out[i] = nil
			if errs[i] != nil {
				continue
			}
			cur, err := tx.Current(ctx, req.Type, req.ID)
			next := int64(1)
			if err == nil {
				next = cur.Version + 1
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			body, err := fhir.Stamp(objs[i], req.ID, next, now)
			if err != nil {
				errs[i] = err
				continue
			}
			v, err := tx.Put(ctx, store.Version{Type: req.Type, ID: req.ID, Version: next, LastUpdated: now, Body: body})
			if err != nil {
				return err
			}
			out[i] = &v
		}
		return nil
	})
	if err != nil {
		return nil, errs, err
	}
	for _, v := range out {
		s.committed(v)
	}
	return out, errs, nil
}
