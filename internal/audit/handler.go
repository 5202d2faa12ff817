package audit

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// Handler serves the log under /log/ (mount it at "/log/"):
//
//	/log/checkpoint                  the latest signed checkpoint (c2sp.org/tlog-checkpoint)
//	/log/tile/<L>/<N>[.p/<W>]        Merkle tree tiles (c2sp.org/tlog-tiles)
//	/log/tile/entries/<N>[.p/<W>]    entry bundles: each entry SHA-256(salt || AuditEvent)
//	/log/key                         the verifier key of the checkpoints' signature
//	/log/consistency?from=F&to=T     a consistency proof as FHIR Parameters (to: default latest)
//
// Everything is public: the entries are salted hashes that reveal nothing
// about the AuditEvents. Only GET and HEAD are allowed (405 otherwise). A
// tile or bundle that does not exist yet is 404; a path that is not a
// canonical tile path is 404 too. Internal failures are 500 with a
// generic message.
func (l *Log) Handler() http.Handler {
	return http.HandlerFunc(l.serve)
}

func (l *Log) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/log"), "/")
	ctx := r.Context()
	switch p {
	case "checkpoint":
		cp, err := l.Checkpoint(ctx)
		if err != nil {
			l.fail(w, err)
			return
		}
		// Mutable: c2sp.org/tlog-tiles asks that it not be cached for
		// more than a few seconds.
		w.Header().Set("Cache-Control", "no-cache, max-age=2")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write(cp.Note)
		return
	case "key":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte(l.vkey + "\n"))
		return
	case "consistency":
		l.serveConsistency(w, r)
		return
	}
	level, n, width, err := parseTilePath(p)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	want := width
	if want == 0 {
		want = tileWidth
	}
	var data []byte
	if level < 0 {
		data, err = readBundle(ctx, l.db, n, want)
	} else {
		if data, err = readTile(ctx, l.db, level, n); err == nil && len(data) >= want*hashSize {
			data = data[:want*hashSize]
		} else {
			data = nil
		}
	}
	if err != nil {
		l.fail(w, err)
		return
	}
	if data == nil {
		http.NotFound(w, r)
		return
	}
	// A tile's content never changes once it exists at this width.
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Write(data)
}

func (l *Log) serveConsistency(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, err1 := strconv.ParseUint(q.Get("from"), 10, 64)
	var to uint64
	var err2 error
	if s := q.Get("to"); s != "" {
		to, err2 = strconv.ParseUint(s, 10, 64)
	}
	if err1 != nil || err2 != nil {
		writeOutcome(w, http.StatusBadRequest, "invalid", "from and to must be tree sizes (decimal numbers); from is required")
		return
	}
	c, err := l.ConsistencyProof(r.Context(), from, to)
	if errors.Is(err, ErrTreeSize) {
		writeOutcome(w, http.StatusBadRequest, "invalid", "from must be at most to, and to at most the size of the latest checkpoint")
		return
	}
	if err != nil {
		l.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/fhir+json")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(c.Parameters())
}

// fail logs err and answers 500 without its text.
func (l *Log) fail(w http.ResponseWriter, err error) {
	l.opts.Logger.Error("audit log: serve", "err", err)
	http.Error(w, "the log could not be read", http.StatusInternalServerError)
}

func writeOutcome(w http.ResponseWriter, status int, code, text string) {
	w.Header().Set("Content-Type", "application/fhir+json")
	w.WriteHeader(status)
	w.Write(encode(map[string]any{
		"resourceType": "OperationOutcome",
		"issue":        []map[string]any{{"severity": "error", "code": code, "diagnostics": text}},
	}))
}
