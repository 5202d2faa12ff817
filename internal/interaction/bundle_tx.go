package interaction

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/store"
)

// txEntry is one entry of a batch or transaction Bundle.
type txEntry struct {
	index   int
	fullURL string
	req     *Request // nil when the entry could not be understood
	err     error    // why it could not
	method  string
	op      *writeOp
	resp    *Response

	existing *store.Version // an ifNoneExist match: nothing is written
	more     []string       // further ids a conditional delete removes
	extra    []*writeOp     // their deletes
	refs     []*condCheck   // the searches its conditional references resolved by
}

// hasConditional reports whether any entry is conditional or has a
// conditional reference.
func hasConditional(entries []*txEntry) bool {
	for _, e := range entries {
		if isConditional(e.req) || bytes.IndexByte(e.req.Body, '?') >= 0 {
			return true
		}
	}
	return false
}

// placeholderID stands in for the id a reference will get once its
// target is resolved; see prevalidate.
const placeholderID = "resolved-later"

// prevalidate validates, before the conditional lock is taken, each
// resource a transaction creates or updates, with every reference to
// another entry or conditional reference replaced by a reference to the
// same resource type. The type is all that validation learns from a
// reference (its target type is checked; the id only for its form), so
// the verdict is the one the final body will get, and prepare then skips
// validation (Request.prevalidated). A failure fails the transaction
// with the entry named.
func (s *Service) prevalidate(entries []*txEntry) error {
	if s.opts.Validate == nil && s.opts.Rules == nil {
		return nil
	}
	types := map[string]string{} // fullUrl -> resource type
	for _, e := range entries {
		if e.fullURL != "" && e.req.Type != "" {
			types[e.fullURL] = e.req.Type
		}
	}
	for _, e := range entries {
		r := e.req
		if len(r.Body) == 0 || (r.Kind != Create && r.Kind != Update) {
			continue
		}
		body, _, err := fhir.RewriteReferences(r.Body, func(ref string) (string, bool) {
			base, frag, hasFrag := strings.Cut(ref, "#")
			typ, ok := types[base]
			if t, _, cond := strings.Cut(ref, "?"); !ok && cond && !strings.Contains(t, "/") && !strings.HasPrefix(ref, "urn:") && s.opts.IsResourceType(t) {
				typ, ok = t, true
			}
			if !ok {
				return "", false
			}
			to := typ + "/" + placeholderID
			if hasFrag && !strings.Contains(ref, "?") {
				to += "#" + frag
			}
			return to, true
		})
		if err != nil {
			continue // prepare reports it
		}
		if _, err := parseResource(body, r.Type); err != nil {
			continue // prepare reports it
		}
		if s.opts.Validate != nil {
			if err := s.opts.Validate(body); err != nil {
				e.err = err
				return entryError(e)
			}
		}
		if err := s.checkRules(body); err != nil {
			e.err = err
			return entryError(e)
		}
		r.prevalidated = true
	}
	return nil
}

// rawEntry is what a Bundle entry carries; splitBundle fills it with
// Resource a slice of the request body.
type rawEntry struct {
	FullURL  string
	Resource []byte
	Request  *struct {
		Method          string `json:"method"`
		URL             string `json:"url"`
		IfNoneMatch     string `json:"ifNoneMatch"`
		IfModifiedSince string `json:"ifModifiedSince"`
		IfMatch         string `json:"ifMatch"`
		IfNoneExist     string `json:"ifNoneExist"`
	} `json:"request"`
}

// bundle processes a batch or transaction Bundle posted to the base
// (R4 http.html#transaction).
func (s *Service) bundle(ctx context.Context, req *Request) (*Response, error) {
	if len(req.Body) == 0 {
		return nil, fhir.Errorf(400, fhir.IssueRequired, "POST to the base needs a Bundle of type batch or transaction")
	}
	// The Bundle itself is checked as a shell only: each entry's resource
	// is validated on its own, so one bad entry of a batch fails alone.
	shell, raws, err := splitBundle(req.Body)
	if err != nil {
		return nil, err
	}
	bt, _ := shell.GetString("type")
	if bt != "batch" && bt != "transaction" {
		return nil, fhir.Errorf(400, fhir.IssueInvalid, "Bundle.type must be batch or transaction to be processed, not %q", clip(bt)).At("Bundle.type")
	}
	entries := make([]*txEntry, len(raws))
	for i, r := range raws {
		entries[i] = s.entryRequest(i, r, req)
	}
	if bt == "batch" {
		req.Kind = Batch // as it is recorded
		return s.batch(ctx, req, entries)
	}
	return s.transaction(ctx, req, entries)
}

// entryRequest turns an entry into a Request by routing its request.url.
func (s *Service) entryRequest(i int, r rawEntry, outer *Request) *txEntry {
	e := &txEntry{index: i, fullURL: r.FullURL}
	at := fmt.Sprintf("Bundle.entry[%d]", i)
	if r.Request == nil || r.Request.Method == "" || r.Request.URL == "" {
		e.err = fhir.Errorf(400, fhir.IssueRequired, "Entry %d has no request.method and request.url", i).At(at + ".request")
		return e
	}
	e.method = r.Request.Method
	u := r.Request.URL
	if outer.BaseURL != "" {
		u = strings.TrimPrefix(u, outer.BaseURL+"/")
	}
	pu, err := url.Parse(u)
	if err != nil || pu.IsAbs() {
		e.err = fhir.Errorf(400, fhir.IssueValue, "Entry %d: request.url %q is not a URL relative to this server", i, clip(r.Request.URL)).At(at + ".request.url")
		return e
	}
	var segs []string
	if p := strings.Trim(pu.Path, "/"); p != "" {
		segs = strings.Split(p, "/")
	}
	method := r.Request.Method
	switch method {
	case "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH":
	default:
		e.err = fhir.Errorf(400, fhir.IssueValue, "Entry %d: request.method %q is not an HTTP verb FHIR uses", i, clip(method)).At(at + ".request.method")
		return e
	}
	sub, err := Route(method, segs)
	if err != nil {
		e.err = err
		return e
	}
	switch sub.Kind {
	case Transaction, Batch, Capabilities:
		e.err = fhir.Errorf(400, fhir.IssueNotSupported, "Entry %d: %s %s cannot be nested in a bundle", i, method, clip(u)).At(at + ".request")
		return e
	}
	if sub.Type != "" && !s.opts.IsResourceType(sub.Type) {
		e.err = fhir.Errorf(404, fhir.IssueNotSupported, "Entry %d: unknown resource type %q", i, clip(sub.Type)).At(at + ".request.url")
		return e
	}
	sub.Query = pu.Query()
	sub.Body = r.Resource
	sub.IfMatch = r.Request.IfMatch
	sub.IfNoneMatch = r.Request.IfNoneMatch
	sub.IfNoneExist = r.Request.IfNoneExist
	if r.Request.IfModifiedSince != "" {
		lo, _, err := ParseDateRange(r.Request.IfModifiedSince)
		if err != nil {
			e.err = fhir.Errorf(400, fhir.IssueValue, "Entry %d: request.ifModifiedSince: %v", i, err).At(at + ".request.ifModifiedSince")
			return e
		}
		sub.IfModifiedSince = lo
	}
	sub.Return = outer.Return
	sub.Lenient = outer.Lenient
	sub.BaseURL = outer.BaseURL
	sub.Caller = outer.Caller
	if (sub.Kind == Create || sub.Kind == Update || sub.Kind == Patch) && len(r.Resource) == 0 {
		e.err = fhir.Errorf(400, fhir.IssueRequired, "Entry %d: %s needs a resource", i, method).At(at + ".resource")
		return e
	}
	e.req = sub
	return e
}

// batch runs every entry on its own: one entry's failure does not affect
// the others, and each gets its own status (R4 http.html#brules).
func (s *Service) batch(ctx context.Context, req *Request, entries []*txEntry) (*Response, error) {
	for _, e := range entries {
		if e.err != nil {
			continue
		}
		e.resp, e.err = s.Do(ctx, e.req)
		if e.err != nil {
			var fe *fhir.Error
			if !errors.As(e.err, &fe) {
				return nil, e.err // internal: the whole request fails with 500
			}
		}
	}
	return s.bundleResponse(req, "batch-response", entries), nil
}

// transaction runs all entries as one unit (R4 http.html#trules): ids are
// assigned and references between entries rewritten first, then every
// write is applied in one database transaction in the order DELETE, POST,
// PUT/PATCH; reads (GET/HEAD) run after the writes. Any failure fails the
// whole transaction and nothing is kept.
func (s *Service) transaction(ctx context.Context, req *Request, entries []*txEntry) (*Response, error) {
	for _, e := range entries {
		if e.err != nil {
			return nil, entryError(e)
		}
		if e.err = refuseAuditWrite(e.req); e.err != nil {
			return nil, entryError(e)
		}
		// Writes are decided here, entry by entry (SMART App Launch 2.x:
		// each entry needs its own scope); reads go through Do.
		switch e.req.Kind {
		case Create, Update, Patch, Delete:
			if e.err = s.decide(e.req); e.err != nil {
				return nil, entryError(e)
			}
		}
	}
	// Conditional entries and conditional references are resolved by
	// search under the conditional lock, held until the commit. What does
	// not depend on those searches, validation above all, is done before
	// the lock is taken, so one large bundle does not hold up the others.
	if hasConditional(entries) {
		if err := s.prevalidate(entries); err != nil {
			return nil, err
		}
		s.condMu.Lock()
		defer s.condMu.Unlock()
	}
	// Assign the identity of every entry that creates or updates, so that
	// references to its fullUrl can be rewritten.
	ids := map[string]string{} // fullUrl -> Type/id
	targets := map[string]int{}
	for _, e := range entries {
		r := e.req
		if r.Kind == Create || r.Kind == Update || r.Kind == Delete || r.Kind == Patch {
			existing, more, err := s.resolveConditional(ctx, r)
			if err != nil {
				e.err = err
				return nil, entryError(e)
			}
			if existing != nil {
				// ifNoneExist matched: the entry creates nothing, and
				// references to it point at the match.
				e.existing = existing
				if e.fullURL != "" {
					ids[e.fullURL] = existing.Type + "/" + existing.ID
				}
				continue
			}
			e.more = more
		}
		if r.Kind == Create {
			r.ID = NewID()
		}
		if r.ID != "" && (r.Kind == Create || r.Kind == Update || r.Kind == Delete || r.Kind == Patch) {
			for _, id := range append([]string{r.ID}, e.more...) {
				key := r.Type + "/" + id
				if prev, dup := targets[key]; dup {
					return nil, entryError(&txEntry{index: e.index, err: fhir.Errorf(400, fhir.IssueDuplicate,
						"Entries %d and %d both change %s; a transaction may change a resource only once", prev, e.index, key)})
				}
				targets[key] = e.index
			}
			if e.fullURL != "" && r.Kind != Delete {
				ids[e.fullURL] = r.Type + "/" + r.ID
			}
		}
	}
	// Resolve conditional references (Type?criteria): each must match
	// exactly one resource.
	for _, e := range entries {
		r := e.req
		if bytes.IndexByte(r.Body, '?') < 0 || (r.Kind != Create && r.Kind != Update) || e.existing != nil {
			continue // a conditional reference has a '?'
		}
		var conds []string
		_, _, _ = fhir.RewriteReferences(r.Body, func(ref string) (string, bool) {
			if t, _, ok := strings.Cut(ref, "?"); ok && !strings.Contains(t, "/") && !strings.HasPrefix(ref, "urn:") {
				conds = append(conds, ref)
			}
			return "", false
		})
		for _, ref := range conds {
			if _, done := ids[ref]; done {
				continue
			}
			typ, _, _ := strings.Cut(ref, "?")
			if !s.opts.IsResourceType(typ) {
				e.err = fhir.Errorf(400, fhir.IssueInvalid, "Conditional reference %q names no resource type", clip(ref))
				return nil, entryError(e)
			}
			probe := &Request{}
			ms, err := s.matches(ctx, probe, typ, ref, req.BaseURL, 1)
			if err != nil {
				e.err = err
				return nil, entryError(e)
			}
			e.refs = append(e.refs, probe.cond)
			if len(ms) != 1 {
				e.err = fhir.Errorf(412, fhir.IssueNotFound, "Conditional reference %q matches %d resources; it must match exactly one", clip(ref), len(ms))
				if len(ms) > 1 {
					e.err = fhir.Errorf(412, fhir.IssueDuplicate, "Conditional reference %q matches more than one resource; it must match exactly one", clip(ref))
				}
				return nil, entryError(e)
			}
			ids[ref] = typ + "/" + ms[0].ID
		}
	}
	// Rewrite references to other entries, at any depth of each resource.
	for _, e := range entries {
		r := e.req
		if len(r.Body) == 0 || (r.Kind != Create && r.Kind != Update) || e.existing != nil {
			continue
		}
		var bad string
		body, _, err := fhir.RewriteReferences(r.Body, func(ref string) (string, bool) {
			base, frag, hasFrag := strings.Cut(ref, "#")
			if to, ok := ids[base]; ok {
				if hasFrag {
					to += "#" + frag
				}
				return to, true
			}
			if strings.HasPrefix(ref, "urn:uuid:") || strings.HasPrefix(ref, "urn:oid:") {
				bad = ref
			}
			return "", false
		})
		if err != nil {
			return nil, entryError(&txEntry{index: e.index, err: fhir.Errorf(400, fhir.IssueStructure, "The resource is not valid JSON")})
		}
		if bad != "" {
			return nil, entryError(&txEntry{index: e.index, err: fhir.Errorf(400, fhir.IssueNotFound, "Reference %q names no entry of this transaction", clip(bad))})
		}
		r.Body = body
	}
	// Prepare (validate) every write before touching the database.
	var writes []*txEntry
	for _, e := range entries {
		switch e.req.Kind {
		case Create, Update, Delete, Patch:
			if e.existing != nil {
				// As for a conditional create on its own: the match is
				// returned as this caller may see it, if they may.
				if _, err := s.readVisible(ctx, e.req, e.existing.Type, e.existing.ID, e.existing.Version); err != nil {
					e.err = err
					return nil, entryError(e)
				}
				body, err := s.present(e.req, e.existing.Body)
				if err != nil {
					return nil, err
				}
				e.resp = &Response{Status: http.StatusOK, Body: body, Version: e.existing,
					Location: fmt.Sprintf("%s/%s/%s/_history/%d", req.BaseURL, e.existing.Type, e.existing.ID, e.existing.Version)}
				continue
			}
			if e.req.noMatch {
				e.resp = &Response{Status: http.StatusNoContent}
				continue
			}
			id := e.req.ID
			op, err := s.prepare(e.req)
			if err != nil {
				e.err = err
				return nil, entryError(e)
			}
			if e.req.Kind == Create {
				op.id = id // keep the id the references were rewritten to
			}
			if err := s.autoLink(ctx, op); err != nil {
				e.err = err
				return nil, entryError(e)
			}
			if op.obj != nil {
				// op.obj holds the resource from here on; the rewritten
				// copy of the body is not needed again.
				e.req.Body = nil
			}
			e.op = op
			writes = append(writes, e)
			for _, more := range e.more {
				r := *e.req
				r.ID = more
				o, err := s.prepare(&r)
				if err != nil {
					e.err = err
					return nil, entryError(e)
				}
				e.extra = append(e.extra, o)
			}
		}
	}
	order := map[Kind]int{Delete: 0, Create: 1, Update: 2, Patch: 2}
	sort.SliceStable(writes, func(i, j int) bool { return order[writes[i].req.Kind] < order[writes[j].req.Kind] })
	var failed *txEntry
	err := s.store.Write(ctx, func(tx store.Tx) error {
		failed = nil
		// Conditional entries are checked again under the engine's lock,
		// against writes by other servers on the same database (recheck).
		for _, e := range entries {
			if err := s.recheck(ctx, tx, e.req); err != nil {
				failed = e
				return err
			}
			for _, c := range e.refs {
				if err := s.recheckCond(ctx, tx, c); err != nil {
					failed = e
					return err
				}
			}
		}
		for _, e := range writes {
			for _, op := range append([]*writeOp{e.op}, e.extra...) {
				if err := op.apply(ctx, tx); err != nil {
					failed = e
					return err
				}
				// The transaction is not retried, so the parsed resource
				// can go as soon as its version is stored.
				op.obj = nil
			}
		}
		var written []string
		var ops []*writeOp
		for _, e := range writes {
			for _, op := range append([]*writeOp{e.op}, e.extra...) {
				if op.out != nil {
					written = append(written, op.out.Type+"/"+op.out.ID)
				}
				ops = append(ops, op)
			}
		}
		if err := s.derive(ctx, tx, ops); err != nil {
			return err
		}
		if err := runCommitHook(ctx, tx, written); err != nil {
			return err
		}
		return s.auditWrites(ctx, tx, req, opWrites(ops), true)
	})
	if err != nil {
		var fe *fhir.Error
		if failed != nil && (errors.As(err, &fe) || errors.Is(err, store.ErrVersionConflict)) {
			failed.err = writeError(err, failed.req)
			return nil, entryError(failed)
		}
		return nil, err
	}
	s.auditNotify(req)
	for _, e := range writes {
		s.committed(e.op.out)
		for _, op := range e.extra {
			s.committed(op.out)
		}
		e.resp = s.opResponse(e.op)
	}
	// Reads run after the writes, so they see them.
	for _, e := range entries {
		if e.op != nil || e.resp != nil {
			continue
		}
		e.resp, e.err = s.Do(ctx, e.req)
		if e.err != nil {
			var fe *fhir.Error
			if !errors.As(e.err, &fe) {
				return nil, e.err
			}
		}
	}
	return s.bundleResponse(req, "transaction-response", entries), nil
}

// entryError reports a failed transaction entry: the entry's own status,
// with the entry named in the OperationOutcome.
func entryError(e *txEntry) error {
	var fe *fhir.Error
	if !errors.As(e.err, &fe) {
		return e.err
	}
	out := &fhir.Error{Status: fe.Status, Header: fe.Header}
	for _, is := range fe.Issues {
		is.Diagnostics = fmt.Sprintf("Bundle.entry[%d]: %s", e.index, is.Diagnostics)
		prefix := fmt.Sprintf("Bundle.entry[%d].resource", e.index)
		exprs := make([]string, len(is.Expression))
		for i, x := range is.Expression {
			switch {
			case strings.HasPrefix(x, "Bundle.entry["):
				exprs[i] = x
			case e.req != nil && (x == e.req.Type || strings.HasPrefix(x, e.req.Type+".")):
				// "Observation.code" in the entry's resource.
				exprs[i] = prefix + strings.TrimPrefix(x, e.req.Type)
			default:
				exprs[i] = prefix + "." + x
			}
		}
		is.Expression = exprs
		if len(is.Expression) == 0 {
			is.Expression = []string{fmt.Sprintf("Bundle.entry[%d]", e.index)}
		}
		out.Issues = append(out.Issues, is)
	}
	return out
}

// bundleResponse renders the batch-response or transaction-response.
func (s *Service) bundleResponse(req *Request, typ string, entries []*txEntry) *Response {
	var b bundleWriter
	b.start(NewID(), typ, fhir.FormatInstant(s.opts.Now()), -1, nil)
	for _, e := range entries {
		var out entry
		if e.err != nil {
			var fe *fhir.Error
			errors.As(e.err, &fe)
			out.Response = struct {
				Status  string          `json:"status"`
				Outcome json.RawMessage `json:"outcome"`
			}{statusLine(fe.Status), fhir.Outcome(fe.Issues)}
			b.add(out)
			continue
		}
		resp := e.resp
		br := bundleResponse{Status: statusLine(resp.Status), Location: resp.Location}
		if v := resp.Version; v != nil {
			br.Etag = ETag(v.Version)
			br.LastModified = fhir.FormatInstant(v.LastUpdated)
			if resp.Body != nil && !v.Deleted {
				out.FullURL = req.BaseURL + "/" + v.Type + "/" + v.ID
			}
		}
		if resp.Location != "" {
			// Relative to the base, as the transaction-response examples show.
			br.Location = strings.TrimPrefix(resp.Location, req.BaseURL+"/")
		}
		if resp.Outcome != nil {
			out.Response = struct {
				bundleResponse
				Outcome json.RawMessage `json:"outcome"`
			}{br, fhir.Outcome(resp.Outcome)}
		} else {
			out.Response = br
		}
		if resp.Status != http.StatusNotModified {
			out.Resource = resp.Body
		}
		b.add(out)
	}
	return &Response{Status: http.StatusOK, Body: b.finish()}
}

func statusLine(code int) string {
	return fmt.Sprintf("%d %s", code, http.StatusText(code))
}
