package feed

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nhs-junction/junction/internal/access"
	"github.com/nhs-junction/junction/internal/fhir"
)

// Authenticate establishes who makes an HTTP request, as the FHIR API
// does (internal/app). An error that is a *fhir.Error is answered with
// its status, headers (a WWW-Authenticate challenge) and issues; any
// other error is an internal error.
type Authenticate func(*http.Request) (*access.Caller, error)

// Handler serves the message store read-only, as JSON:
//
//	GET /hl7/messages?control-id=&patient=&type=&status=&sender=&since=&until=&_count=&before=
//	GET /hl7/messages/{id}
//
// patient is an NHS number; type is ADT or ADT^A01; since and until are
// RFC 3339 times or dates (received time, until exclusive); the list is
// newest first, paged by the next link (before= the last id). One
// message also carries its raw text and the acknowledgement sent.
//
// The store holds whole messages, so patient data of every patient a
// feed carried, outside the per-patient access rules of the FHIR API:
// every request is authenticated with authenticate, and only callers of
// kind access.Admin (the integration team running the interfaces),
// access.PrivacyOfficer and access.Development (authorisation switched
// off) are served. Without credentials the answer is 401, for any other
// caller 403, each an OperationOutcome. A nil authenticate refuses every
// request (401): the handler fails closed.
func (f *Feed) Handler(authenticate Authenticate) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hl7/messages", f.list)
	mux.HandleFunc("GET /hl7/messages/{id}", f.one)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if authenticate == nil {
			writeOutcome(w, fhir.Errorf(http.StatusUnauthorized, fhir.IssueLogin, "The message store is not available: no authentication is configured"))
			return
		}
		c, err := authenticate(r)
		if err != nil {
			var fe *fhir.Error
			if !errors.As(err, &fe) {
				f.opts.Logger.Error("hl7: authenticate", "err", err)
				fe = fhir.Errorf(http.StatusInternalServerError, fhir.IssueException, "Internal error")
			}
			writeOutcome(w, fe)
			return
		}
		if !mayReadMessages(c) {
			writeOutcome(w, fhir.Errorf(http.StatusForbidden, fhir.IssueForbidden, "The HL7 v2 message store is open to administrators and privacy officers only"))
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// mayReadMessages reports whether c may read the message store.
func mayReadMessages(c *access.Caller) bool {
	if c == nil {
		return false
	}
	switch c.Kind {
	case access.Admin, access.PrivacyOfficer, access.Development:
		return true
	}
	return false
}

type listResponse struct {
	Messages []*Record `json:"messages"`
	Next     string    `json:"next,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// writeOutcome answers an error as a FHIR OperationOutcome, with the
// error's headers.
func writeOutcome(w http.ResponseWriter, e *fhir.Error) {
	for k, vs := range e.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.Header().Set("Content-Type", "application/fhir+json")
	w.WriteHeader(e.Status)
	_, _ = w.Write(fhir.Outcome(e.Issues))
}

func badRequest(w http.ResponseWriter, msg string) {
	writeOutcome(w, fhir.Errorf(http.StatusBadRequest, fhir.IssueInvalid, "%s", msg))
}

func notFound(w http.ResponseWriter) {
	writeOutcome(w, fhir.Errorf(http.StatusNotFound, fhir.IssueNotFound, "No such message"))
}

func internalError(w http.ResponseWriter) {
	writeOutcome(w, fhir.Errorf(http.StatusInternalServerError, fhir.IssueException, "Internal error"))
}

func parseTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func (f *Feed) list(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	known := map[string]bool{"control-id": true, "patient": true, "type": true, "status": true, "sender": true, "since": true, "until": true, "_count": true, "before": true}
	for k := range v {
		if !known[k] {
			badRequest(w, "unknown parameter "+strconv.Quote(k)+" (known: control-id, patient, type, status, sender, since, until, _count, before)")
			return
		}
	}
	q := Query{ControlID: v.Get("control-id"), NHSNumber: strings.ReplaceAll(v.Get("patient"), " ", ""), Type: v.Get("type"), Status: v.Get("status"), Sender: v.Get("sender")}
	switch q.Status {
	case "", StatusApplied, StatusErrored, StatusRejected, StatusDuplicate:
	default:
		badRequest(w, "status must be applied, errored, rejected or duplicate")
		return
	}
	for name, dst := range map[string]*time.Time{"since": &q.Since, "until": &q.Until} {
		if s := v.Get(name); s != "" {
			t, ok := parseTime(s)
			if !ok {
				badRequest(w, name+" must be an RFC 3339 time or a date (YYYY-MM-DD)")
				return
			}
			*dst = t
		}
	}
	for name, dst := range map[string]*int64{"before": &q.Before} {
		if s := v.Get(name); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n < 1 {
				badRequest(w, name+" must be a positive integer")
				return
			}
			*dst = n
		}
	}
	q.Count = 50
	if s := v.Get("_count"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			badRequest(w, "_count must be 1 to 1000")
			return
		}
		q.Count = n
	}
	recs, err := List(r.Context(), f.opts.DB, q)
	if err != nil {
		f.opts.Logger.Error("hl7: list messages", "err", err)
		internalError(w)
		return
	}
	resp := listResponse{Messages: recs}
	if resp.Messages == nil {
		resp.Messages = []*Record{}
	}
	if len(recs) == q.Count {
		next := url.Values{}
		for k, vs := range v {
			next[k] = vs
		}
		next.Set("before", strconv.FormatInt(recs[len(recs)-1].ID, 10))
		resp.Next = "/hl7/messages?" + next.Encode()
	}
	writeJSON(w, http.StatusOK, resp)
}

func (f *Feed) one(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		notFound(w)
		return
	}
	rec, err := Get(r.Context(), f.opts.DB, id)
	if err != nil {
		f.opts.Logger.Error("hl7: read message", "err", err)
		internalError(w)
		return
	}
	if rec == nil {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		*Record
		Raw string `json:"raw"`
		Ack string `json:"ack,omitempty"`
	}{rec, strings.ReplaceAll(string(rec.Raw), "\r", "\n"), strings.ReplaceAll(string(rec.Ack), "\r", "\n")})
}
