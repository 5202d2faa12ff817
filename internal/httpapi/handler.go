// Package httpapi is the HTTP face of Junction: it routes FHIR REST URLs
// to interaction requests, negotiates formats, and renders every error as
// an OperationOutcome in exactly one place (writeError).
package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nhs-junction/junction/internal/access"
	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/interaction"
)

// Doer carries out interactions; *interaction.Service is one.
type Doer interface {
	Do(ctx context.Context, req *interaction.Request) (*interaction.Response, error)
}

// Options configure the HTTP handler.
type Options struct {
	Service Doer
	Logger  *slog.Logger
	Metrics *Metrics // nil disables /metrics and instrumentation
	// MaxBodyBytes limits request bodies; larger ones get 413.
	MaxBodyBytes int64
	// Ready reports whether the database is reachable and migrated (/readyz).
	Ready func(ctx context.Context) error
	// BaseURL, when set, is the public FHIR base (e.g.
	// https://junction.example.nhs.uk/fhir); otherwise it is derived from
	// each request's Host.
	BaseURL string
	// Authenticate establishes who makes a FHIR request. It is called for
	// every request under /fhir except GET /fhir/metadata without
	// credentials (the CapabilityStatement, which SMART clients read
	// before they have a token). A *fhir.Error it returns is sent as it
	// is; any other error is a 401 with WWW-Authenticate (RFC 6750). Nil
	// refuses every such request: the server fails closed.
	Authenticate func(r *http.Request) (*access.Caller, error)
	// Routes are further handlers by ServeMux pattern (the authorisation
	// server, the audit log, the HL7 v2 message store ...).
	Routes map[string]http.Handler
}

const basePath = "/fhir"

// New returns the server's root handler.
func New(opts Options) http.Handler {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 64 << 20
	}
	h := &handler{opts: opts}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("/readyz", h.ready)
	if opts.Metrics != nil {
		mux.Handle("/metrics", opts.Metrics.Handler())
	}
	for pattern, handler := range opts.Routes {
		mux.Handle(pattern, handler)
	}
	mux.HandleFunc(basePath, h.fhir)
	mux.HandleFunc(basePath+"/", h.fhir)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.writeError(w, r, fhir.Errorf(404, fhir.IssueNotFound, "Nothing here: the FHIR API is at %s", basePath))
	})
	return h.middleware(mux)
}

type handler struct {
	opts Options
}

func (h *handler) ready(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if h.opts.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := h.opts.Ready(ctx); err != nil {
			logger(r).Warn("not ready", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, "database not ready\n")
			return
		}
	}
	_, _ = io.WriteString(w, "ready\n")
}

func (h *handler) fhir(w http.ResponseWriter, r *http.Request) {
	pretty, err := negotiate(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	req, err := h.request(w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	setInteraction(r, string(req.Kind))
	if req.Kind != interaction.Capabilities || r.Header.Get("Authorization") != "" {
		if req.Caller, err = h.authenticate(r); err != nil {
			h.writeError(w, r, err)
			return
		}
	}
	resp, err := h.opts.Service.Do(r.Context(), req)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeResponse(w, r, resp, pretty)
}

// authenticate establishes the request's Caller; see Options.Authenticate.
func (h *handler) authenticate(r *http.Request) (*access.Caller, error) {
	if h.opts.Authenticate == nil {
		return nil, unauthorized("invalid_request", "This server accepts no credentials: authorisation is not configured")
	}
	c, err := h.opts.Authenticate(r)
	if err != nil {
		var fe *fhir.Error
		if errors.As(err, &fe) {
			return nil, err
		}
		code := "invalid_token"
		if r.Header.Get("Authorization") == "" {
			code = ""
		}
		logger(r).Info("authentication failed", "err", err)
		return nil, unauthorized(code, "The request needs a valid access token (Authorization: Bearer ...): the one sent is missing, malformed, expired, revoked or not issued for this server")
	}
	if c == nil {
		return nil, unauthorized("", "The request needs an access token (Authorization: Bearer ...)")
	}
	c.Address = r.RemoteAddr
	return c, nil
}

// unauthorized is a 401 with the WWW-Authenticate challenge of RFC 6750
// section 3; code is its error attribute ("" when no credentials came).
func unauthorized(code, msg string) *fhir.Error {
	e := fhir.Errorf(401, fhir.IssueLogin, "%s", msg)
	challenge := `Bearer realm="junction"`
	if code != "" {
		challenge += `, error="` + code + `"`
	}
	e.Header = http.Header{"Www-Authenticate": {challenge}}
	return e
}

// request turns an HTTP request into an interaction request.
func (h *handler) request(w http.ResponseWriter, r *http.Request) (*interaction.Request, error) {
	path := strings.TrimPrefix(r.URL.Path, basePath)
	path = strings.Trim(path, "/")
	var segs []string
	if path != "" {
		segs = strings.Split(path, "/")
	}
	req, err := interaction.Route(r.Method, segs)
	if err != nil {
		return nil, err
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, fhir.Errorf(400, fhir.IssueInvalid, "The query string is not validly encoded")
	}
	req.Query = query
	if r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, fhir.Errorf(413, fhir.IssueTooLong, "The request body is larger than the limit of %d bytes", h.opts.MaxBodyBytes)
			}
			return nil, fhir.Errorf(400, fhir.IssueStructure, "The request body could not be read")
		}
		isSearch := strings.HasSuffix(r.URL.Path, "/_search")
		if err := checkContentType(r.Header.Get("Content-Type"), isSearch, req.Kind == interaction.Patch, len(body) > 0); err != nil {
			return nil, err
		}
		if isSearch {
			form, err := url.ParseQuery(string(body))
			if err != nil {
				return nil, fhir.Errorf(400, fhir.IssueInvalid, "The search form is not validly encoded")
			}
			for k, vs := range form {
				req.Query[k] = append(req.Query[k], vs...)
			}
		} else {
			req.Body = body
			if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil {
				req.ContentType = mt
			}
		}
	}
	req.IfMatch = r.Header.Get("If-Match")
	req.IfNoneMatch = r.Header.Get("If-None-Match")
	req.IfNoneExist = r.Header.Get("If-None-Exist")
	if ims := r.Header.Get("If-Modified-Since"); ims != "" {
		// An unparseable date is ignored, as RFC 9110 13.1.3 requires.
		if t, err := http.ParseTime(ims); err == nil {
			req.IfModifiedSince = t
		}
	}
	req.Return, req.Lenient = parsePrefer(r.Header.Values("Prefer"))
	req.BaseURL = h.baseURL(r)
	return req, nil
}

func (h *handler) baseURL(r *http.Request) string {
	if h.opts.BaseURL != "" {
		return h.opts.BaseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + basePath
}

// checkContentType accepts the FHIR JSON media types for resource bodies,
// form encoding for _search, and JSON Patch for PATCH.
func checkContentType(ct string, search, patch, hasBody bool) error {
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return fhir.Errorf(415, fhir.IssueNotSupported, "Unreadable Content-Type %q", clip(ct))
	}
	switch {
	case search && (mt == "application/x-www-form-urlencoded" || !hasBody):
		return nil
	case mt == "application/fhir+json" || mt == "application/json" || mt == "application/json+fhir":
		return nil
	case patch && mt == "application/json-patch+json":
		return nil
	}
	return fhir.Errorf(415, fhir.IssueNotSupported, "Content-Type %q is not supported: send application/fhir+json", clip(mt))
}

// negotiate picks the response format from _format, then Accept. Only JSON
// is supported; asking for anything else only is 406 (R4 http.html#mime).
// It also reports _pretty.
func negotiate(r *http.Request) (pretty bool, err error) {
	q := r.URL.Query()
	pretty = q.Get("_pretty") == "true"
	if f := q.Get("_format"); f != "" {
		switch f {
		case "json", "application/json", "application/fhir+json", "application/json+fhir":
			return pretty, nil
		}
		if mt, _, err := mime.ParseMediaType(f); err == nil {
			switch mt {
			case "application/json", "application/fhir+json", "application/json+fhir":
				return pretty, nil
			}
		}
		return pretty, fhir.Errorf(406, fhir.IssueNotSupported, "_format %q is not supported: this server speaks JSON (json, application/fhir+json)", clip(f))
	}
	accept := r.Header.Values("Accept")
	if len(accept) == 0 {
		return pretty, nil
	}
	for _, a := range accept {
		for _, part := range strings.Split(a, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil {
				continue
			}
			if q, ok := params["q"]; ok {
				if f, err := strconv.ParseFloat(q, 64); err == nil && f == 0 {
					continue
				}
			}
			switch mt {
			case "*/*", "application/*", "application/json", "application/fhir+json", "application/json+fhir":
				return pretty, nil
			}
		}
	}
	return pretty, fhir.Errorf(406, fhir.IssueNotSupported, "None of the Accept types %q is supported: this server speaks application/fhir+json", clip(strings.Join(accept, ", ")))
}

// parsePrefer reads the Prefer header's return and handling preferences.
func parsePrefer(values []string) (interaction.Return, bool) {
	ret, lenient := interaction.ReturnRepresentation, false
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			part = strings.TrimSpace(strings.SplitN(part, ";", 2)[0])
			switch strings.ReplaceAll(part, `"`, "") {
			case "return=minimal":
				ret = interaction.ReturnMinimal
			case "return=representation":
				ret = interaction.ReturnRepresentation
			case "return=OperationOutcome":
				ret = interaction.ReturnOutcome
			case "handling=lenient":
				lenient = true
			case "handling=strict":
				lenient = false
			}
		}
	}
	return ret, lenient
}

const contentType = "application/fhir+json; charset=utf-8"

func (h *handler) writeResponse(w http.ResponseWriter, r *http.Request, resp *interaction.Response, pretty bool) {
	hd := w.Header()
	if v := resp.Version; v != nil {
		hd.Set("ETag", interaction.ETag(v.Version))
		hd.Set("Last-Modified", v.LastUpdated.UTC().Format(http.TimeFormat))
	}
	if resp.BreakGlass != "" {
		// The response carries data opened by an emergency access.
		hd.Set("Break-Glass", resp.BreakGlass)
	}
	if resp.Location != "" {
		hd.Set("Location", resp.Location)
		if resp.Status == http.StatusCreated {
			hd.Set("Content-Location", resp.Location)
		}
	}
	body := resp.Body
	if resp.Outcome != nil {
		body = fhir.Outcome(resp.Outcome)
	}
	if body == nil || resp.Status == http.StatusNotModified || resp.Status == http.StatusNoContent {
		w.WriteHeader(resp.Status)
		return
	}
	if pretty {
		var buf bytes.Buffer
		if json.Indent(&buf, body, "", "  ") == nil {
			body = buf.Bytes()
		}
	}
	hd.Set("Content-Type", contentType)
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(resp.Status)
	_, _ = w.Write(body)
}

// writeError is the one place where errors become responses. *fhir.Error
// carries its own status and issues; anything else is internal: it is
// logged with the request id, and the client sees only that id.
func (h *handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var fe *fhir.Error
	if !errors.As(err, &fe) {
		id := requestID(r)
		logger(r).Error("internal error", "err", err)
		fe = fhir.Errorf(500, fhir.IssueException, "Internal server error (request id %s)", id)
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			fe = fhir.Errorf(503, fhir.IssueTransient, "The request was cancelled or timed out (request id %s)", id)
		}
	}
	for k, vs := range fe.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	body := fhir.Outcome(fe.Issues)
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(fe.Status)
	_, _ = w.Write(body)
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
