package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/nhs-junction/junction/internal/interaction"
)

type ctxKey int

const reqInfoKey ctxKey = 0

// reqInfo travels with each request: its id, its logger, and the
// interaction it turned out to be (for metrics and logs).
type reqInfo struct {
	id          string
	log         *slog.Logger
	interaction string
}

func info(r *http.Request) *reqInfo {
	if ri, ok := r.Context().Value(reqInfoKey).(*reqInfo); ok {
		return ri
	}
	return &reqInfo{id: "-", log: slog.Default()}
}

func requestID(r *http.Request) string            { return info(r).id }
func logger(r *http.Request) *slog.Logger         { return info(r).log }
func setInteraction(r *http.Request, kind string) { info(r).interaction = kind }

// validRequestID accepts a client's X-Request-ID when it is short and
// printable, so it can be logged safely.
func validRequestID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// middleware gives every request an id, a logger, a recovered panic (as a
// 500 OperationOutcome without internals), an access log line and metrics.
func (h *handler) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-ID")
		if !validRequestID(id) {
			id = newRequestID()
		}
		ri := &reqInfo{id: id, log: h.opts.Logger.With("request_id", id)}
		// The id also travels to the interaction layer, which records it
		// in the request's AuditEvents.
		r = r.WithContext(interaction.WithRequestID(context.WithValue(r.Context(), reqInfoKey, ri), id))
		w.Header().Set("X-Request-ID", id)
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				ri.log.Error("panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if sw.status == 0 {
					h.writeError(sw, r, fmt.Errorf("panic: %v", p))
				}
			}
			elapsed := time.Since(start)
			kind := ri.interaction
			if kind == "" {
				kind = "other"
			}
			if h.opts.Metrics != nil {
				h.opts.Metrics.observeRequest(kind, sw.status, elapsed)
			}
			ri.log.Info("request", "method", r.Method, "path", r.URL.Path, "interaction", kind,
				"status", sw.status, "bytes", sw.bytes, "duration_ms", float64(elapsed.Microseconds())/1000)
		}()
		next.ServeHTTP(sw, r)
	})
}
