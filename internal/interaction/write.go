package interaction

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/search"
	"github.com/nhs-junction/junction/internal/store"
)

// parseBody checks that body is a JSON object of resource type typ that
// passes validation, and returns it ready for stamping. prevalidated
// skips the validation that prevalidate already did.
func (s *Service) parseBody(body []byte, typ string, prevalidated bool) (*fhir.Object, error) {
	obj, err := parseResource(body, typ)
	if err != nil {
		return nil, err
	}
	if prevalidated {
		return obj, nil
	}
	if s.opts.Validate != nil {
		if err := s.opts.Validate(body); err != nil {
			return nil, err
		}
	}
	if err := s.checkRules(body); err != nil {
		return nil, err
	}
	return obj, nil
}

// checkRules applies the business rules: a violation is 422.
func (s *Service) checkRules(body []byte) error {
	if s.opts.Rules == nil {
		return nil
	}
	if issues := fhir.ErrorsOf(s.opts.Rules(body)); len(issues) > 0 {
		return &fhir.Error{Status: 422, Issues: issues}
	}
	return nil
}

// parseResource checks that body is a JSON object with resourceType typ.
func parseResource(body []byte, typ string) (*fhir.Object, error) {
	if len(body) == 0 {
		return nil, fhir.Errorf(400, fhir.IssueRequired, "%s resource is required in the request body", capital(fhir.A(typ)))
	}
	obj, err := fhir.ParseObject(body)
	if err != nil {
		if errors.Is(err, fhir.ErrNotObject) {
			return nil, fhir.Errorf(400, fhir.IssueStructure, "The body must be a JSON object (a FHIR resource)")
		}
		return nil, fhir.Errorf(400, fhir.IssueStructure, "The body is not valid JSON: %s", clip(jsonErrorText(err)))
	}
	if err := checkResourceType(obj, typ); err != nil {
		return nil, err
	}
	return obj, nil
}

// checkResourceType checks that obj has resourceType typ.
func checkResourceType(obj *fhir.Object, typ string) error {
	rt, ok := obj.GetString("resourceType")
	if !ok {
		return fhir.Errorf(400, fhir.IssueRequired, "The body has no resourceType, so it is not a FHIR resource").At("resourceType")
	}
	if rt != typ {
		return fhir.Errorf(400, fhir.IssueInvalid, "The body is %s but the URL names %s", fhir.A(clip(rt)), typ).At("resourceType")
	}
	return nil
}

// jsonErrorText describes a JSON syntax error without Go type names.
func jsonErrorText(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%s (at byte %d)", se.Error(), se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("unexpected %s at byte %d", te.Value, te.Offset)
	}
	return err.Error()
}

// NewID returns a server-assigned id: a random UUID (version 4).
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// writeOp is a create, update or delete that has been checked outside
// the database transaction (parsing, validation, id assignment) and is
// applied inside one. Transactions apply many in one store.Write.
type writeOp struct {
	s   *Service
	req *Request
	typ string
	id  string
	obj *fhir.Object // the resource, for create and update
	// patch turns the current resource into the new one, for patch.
	patch    func(cur []byte) ([]byte, error)
	validate func(raw []byte) error
	rules    func(raw []byte) error

	// Set by apply.
	out    *store.Version
	status int
}

// prepare checks a create, update or delete request.
func (s *Service) prepare(req *Request) (*writeOp, error) {
	op := &writeOp{s: s, req: req, typ: req.Type, id: req.ID}
	switch req.Kind {
	case Create:
		obj, err := s.parseBody(req.Body, req.Type, req.prevalidated)
		if err != nil {
			return nil, err
		}
		// The server assigns the id of a created resource and ignores any
		// id in the body (R4 http.html#create).
		op.obj, op.id = obj, NewID()
	case Update:
		if req.ID == "" {
			return nil, fhir.Errorf(400, fhir.IssueRequired, "PUT needs an id in the URL, or search criteria for a conditional update")
		}
		obj, err := s.parseBody(req.Body, req.Type, req.prevalidated)
		if err != nil {
			return nil, err
		}
		if req.assignID {
			idRaw, _ := json.Marshal(req.ID)
			obj.Set("id", idRaw, "resourceType")
		}
		bodyID, hasID := obj.GetString("id")
		if !hasID {
			return nil, fhir.Errorf(400, fhir.IssueRequired, "The resource must carry id %q to match the URL", req.ID).At(req.Type + ".id")
		}
		if bodyID != req.ID {
			return nil, fhir.Errorf(400, fhir.IssueInvalid, "The id in the body (%q) differs from the id in the URL (%q)", clip(bodyID), req.ID).At(req.Type + ".id")
		}
		op.obj = obj
	case Delete:
		if req.ID == "" {
			return nil, fhir.Errorf(400, fhir.IssueRequired, "DELETE needs an id in the URL, or search criteria for a conditional delete")
		}
	case Patch:
		if req.ID == "" {
			return nil, fhir.Errorf(400, fhir.IssueRequired, "PATCH needs an id in the URL, or search criteria for a conditional patch")
		}
		fn, err := patchFunc(req)
		if err != nil {
			return nil, err
		}
		op.patch, op.validate, op.rules = fn, s.opts.Validate, s.checkRules
	default:
		return nil, fhir.Errorf(405, fhir.IssueNotSupported, "The %s interaction is not a write", req.Kind)
	}
	return op, nil
}

// apply carries out a prepared write inside tx. It may run more than once
// (a retried transaction), so it sets every result field afresh.
func (op *writeOp) apply(ctx context.Context, tx store.Tx) error {
	op.out, op.status = nil, 0
	if op.req.Kind == Create && op.req.IfMatch == "" {
		return op.create(ctx, tx)
	}
	cur, err := tx.Current(ctx, op.typ, op.id)
	exists := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if op.req.Kind == Create && exists {
		// A server-assigned UUID that is already taken: vanishingly
		// unlikely, and reported rather than overwritten.
		return fhir.Errorf(409, fhir.IssueDuplicate, "%s/%s already exists", op.typ, op.id)
	}
	if exists {
		// What the caller may not see, they may not change either.
		if err := op.s.checkVisible(ctx, tx, op.req, cur, true); err != nil {
			return err
		}
	}
	if err := checkIfMatch(op.req, cur, exists); err != nil {
		return err
	}
	if op.req.Kind == Delete {
		op.status = http.StatusNoContent
		// Deleting what does not exist, or is already deleted, succeeds
		// without a new version (R4 http.html#delete).
		if !exists || cur.Deleted {
			return nil
		}
		v, err := tx.Put(ctx, store.Version{Type: op.typ, ID: op.id, Version: cur.Version + 1, LastUpdated: tx.Now(), Deleted: true})
		if err != nil {
			return err
		}
		op.out = &v
		return nil
	}
	if op.req.Kind == Patch {
		if !exists {
			return notFound(op.typ, op.id)
		}
		if cur.Deleted {
			return gone(cur)
		}
		obj, err := op.patched(cur.Body)
		if err != nil {
			return err
		}
		op.obj = obj
	}
	next := int64(1)
	op.status = http.StatusCreated
	if exists {
		next = cur.Version + 1
		if !cur.Deleted {
			op.status = http.StatusOK
		}
	}
	now := tx.Now()
	body, err := fhir.Stamp(op.obj, op.id, next, now)
	if err != nil {
		return err
	}
	v, err := tx.Put(ctx, store.Version{Type: op.typ, ID: op.id, Version: next, LastUpdated: now, Body: body})
	if err != nil {
		return err
	}
	if err := op.s.checkVisible(ctx, tx, op.req, v, false); err != nil {
		return err
	}
	op.out = &v
	return nil
}

// create stores version 1 of a new resource. It does not read the
// current version first: the id is a fresh UUID, and Put refuses version
// 1 of a resource that exists, so that read was one more statement (on
// PostgreSQL, two round trips) per created resource for nothing.
func (op *writeOp) create(ctx context.Context, tx store.Tx) error {
	now := tx.Now()
	body, err := fhir.Stamp(op.obj, op.id, 1, now)
	if err != nil {
		return err
	}
	v, err := tx.Put(ctx, store.Version{Type: op.typ, ID: op.id, Version: 1, LastUpdated: now, Body: body})
	if errors.Is(err, store.ErrVersionConflict) {
		// A server-assigned UUID that is already taken: vanishingly
		// unlikely, and reported rather than overwritten.
		return fhir.Errorf(409, fhir.IssueDuplicate, "%s/%s already exists", op.typ, op.id)
	}
	if err != nil {
		return err
	}
	if err := op.s.checkVisible(ctx, tx, op.req, v, false); err != nil {
		return err
	}
	// History reports this version as POST [type], not PUT [type]/[id].
	if err := search.MarkPosted(ctx, tx, v.Seq); err != nil {
		return err
	}
	op.out, op.status = &v, http.StatusCreated
	return nil
}

// writeOne carries out a single create, update or delete in its own
// transaction. A conditional one whose search another server's write
// overtook (recheck) is resolved and tried again.
func (s *Service) writeOne(ctx context.Context, req *Request) (*Response, error) {
	if !isConditional(req) {
		return s.writeOnce(ctx, req)
	}
	s.condMu.Lock()
	defer s.condMu.Unlock()
	for attempt := 1; ; attempt++ {
		r := *req
		resp, err := s.writeOnce(ctx, &r)
		if errors.Is(err, errCondChanged) && attempt < 4 {
			continue
		}
		return resp, err
	}
}

func (s *Service) writeOnce(ctx context.Context, req *Request) (*Response, error) {
	existing, more, err := s.resolveConditional(ctx, req)
	if err != nil {
		return nil, err
	}
	if existing != nil {
		// If-None-Exist matched: nothing is created (R4 http.html#ccreate).
		// The match is returned only to a caller who may see it.
		if _, err := s.readVisible(ctx, req, existing.Type, existing.ID, existing.Version); err != nil {
			return nil, err
		}
		body, err := s.present(req, existing.Body)
		if err != nil {
			return nil, err
		}
		return &Response{Status: http.StatusOK, Body: body, Version: existing,
			Location: fmt.Sprintf("%s/%s/%s/_history/%d", req.BaseURL, existing.Type, existing.ID, existing.Version)}, nil
	}
	if req.noMatch {
		return &Response{Status: http.StatusNoContent}, nil
	}
	op, err := s.prepare(req)
	if err != nil {
		return nil, err
	}
	if err := s.autoLink(ctx, op); err != nil {
		return nil, err
	}
	ops := []*writeOp{op}
	for _, id := range more {
		r := *req
		r.ID = id
		o, err := s.prepare(&r)
		if err != nil {
			return nil, err
		}
		ops = append(ops, o)
	}
	err = s.write(ctx, req, func(tx store.Tx) error {
		if err := s.recheck(ctx, tx, req); err != nil {
			return err
		}
		for _, o := range ops {
			if err := o.apply(ctx, tx); err != nil {
				return err
			}
		}
		if err := s.derive(ctx, tx, ops); err != nil {
			return err
		}
		return s.auditWrites(ctx, tx, req, opWrites(ops), false)
	})
	if err != nil {
		return nil, writeError(err, req)
	}
	s.auditNotify(req)
	for _, o := range ops {
		s.committed(o.out)
	}
	return s.opResponse(op), nil
}

// isConditional reports whether a write finds its target by search.
func isConditional(req *Request) bool {
	switch req.Kind {
	case Create:
		return req.IfNoneExist != ""
	case Update, Delete, Patch:
		return req.ID == ""
	}
	return false
}

func (s *Service) committed(v *store.Version) {
	if v != nil && s.opts.Committed != nil {
		s.opts.Committed(*v)
	}
}

// opResponse builds the response to an applied write.
func (s *Service) opResponse(op *writeOp) *Response {
	req := op.req
	if req.Kind == Delete {
		resp := &Response{Status: http.StatusNoContent, Version: op.out}
		if req.Return == ReturnOutcome {
			resp.Status = http.StatusOK
			msg := fmt.Sprintf("%s/%s deleted", op.typ, op.id)
			if op.out == nil {
				msg = fmt.Sprintf("%s/%s did not exist or was already deleted", op.typ, op.id)
			}
			resp.Outcome = []fhir.Issue{{Severity: fhir.SeverityInformation, Code: fhir.IssueInformational, Diagnostics: msg}}
		}
		return resp
	}
	return s.written(req, *op.out, op.status)
}

// write runs fn in a store transaction. A write that the client did not
// make conditional on a version is retried when it loses a race with a
// concurrent writer: each attempt reads the current version afresh, so no
// update is lost and each succeeds on its own version.
func (s *Service) write(ctx context.Context, req *Request, fn func(store.Tx) error) error {
	const attempts = 5
	var err error
	for i := 0; i < attempts; i++ {
		err = s.store.Write(ctx, fn)
		if !errors.Is(err, store.ErrVersionConflict) || req.IfMatch != "" {
			return err
		}
	}
	return err
}

// checkIfMatch applies a version-aware update or delete (R4
// http.html#concurrency): a mismatch is 412 Precondition Failed.
func checkIfMatch(req *Request, cur store.Version, exists bool) error {
	if req.IfMatch == "" {
		return nil
	}
	want, ok := ParseETag(req.IfMatch)
	if !ok {
		return fhir.Errorf(400, fhir.IssueValue, "If-Match must be a version tag such as W/\"3\", not %q", clip(req.IfMatch))
	}
	if !exists {
		return fhir.Errorf(412, fhir.IssueConflict, "If-Match names version %d but %s/%s does not exist", want, req.Type, req.ID)
	}
	if cur.Version != want || cur.Deleted {
		return fhir.Errorf(412, fhir.IssueConflict, "If-Match names version %d but the current version of %s/%s is %d", want, req.Type, req.ID, cur.Version)
	}
	return nil
}

// writeError turns a lost race into 409 Conflict (412 when the client made
// the write conditional on a version).
func writeError(err error, req *Request) error {
	if errors.Is(err, store.ErrVersionConflict) {
		if req.IfMatch != "" {
			return fhir.Errorf(412, fhir.IssueConflict, "%s/%s was changed by another request; read it again and retry", req.Type, req.ID)
		}
		return fhir.Errorf(409, fhir.IssueConflict, "%s/%s was changed by another request at the same time; retry", req.Type, req.ID)
	}
	return err
}

// written builds the response to a create or update.
func (s *Service) written(req *Request, v store.Version, status int) *Response {
	resp := &Response{Status: status, Version: &v, Location: fmt.Sprintf("%s/%s/%s/_history/%d", req.BaseURL, v.Type, v.ID, v.Version)}
	switch req.Return {
	case ReturnRepresentation:
		resp.Body = v.Body
	case ReturnOutcome:
		resp.Outcome = []fhir.Issue{{Severity: fhir.SeverityInformation, Code: fhir.IssueInformational, Diagnostics: fmt.Sprintf("%s/%s version %d stored", v.Type, v.ID, v.Version)}}
	}
	return resp
}

// capital returns s with its first letter in upper case, for a message
// that starts with a word such as fhir.A gives.
func capital(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
