// Package authn is Junction's built-in OAuth 2.0 authorisation server,
// implementing SMART App Launch 2.x (EHR and standalone launch with PKCE,
// refresh tokens, OpenID Connect id_tokens, SMART Backend Services with
// private_key_jwt, RFC 7662 introspection), and the validation of the
// bearer tokens FHIR requests carry, which turns a token into the
// *access.Caller the access decision works from.
//
// Users and clients live in the database (tables auth_*), managed by
// AddUser, AddClient and friends (the `junction user` and `junction
// client` commands). Access tokens are JWTs (RFC 9068) signed with the
// server's own RS256 key, kept in auth_key and rotated without downtime.
// Tokens from configured external OpenID Connect issuers (NHS CIS2, NHS
// login) are accepted too; see ExternalIssuer.
package authn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Token lifetimes: SMART Backend Services recommends access tokens of at
// most five minutes for system clients; user tokens are capped at one
// hour, so a disabled user or withdrawn grant loses access soon.
const (
	MaxUserTokenLifetime   = time.Hour
	MaxSystemTokenLifetime = 5 * time.Minute
	// codeLifetime: RFC 6749 section 4.1.2 recommends at most 10 minutes.
	codeLifetime = 2 * time.Minute
	// flowLifetime bounds the time between opening the sign-in page and
	// approving the request.
	flowLifetime = 10 * time.Minute
	// launchLifetime bounds the time between creating an EHR launch and
	// the app's authorisation request.
	launchLifetime = 10 * time.Minute
	// Refresh tokens: offline_access ones live 30 days from each use;
	// online_access ones end 12 hours after the user signed in (one
	// working shift) however often they are used.
	offlineRefreshLifetime = 30 * 24 * time.Hour
	onlineRefreshLifetime  = 12 * time.Hour
	// clockLeeway tolerates clock skew between this server and others
	// when checking exp, nbf and iat.
	clockLeeway = 30 * time.Second
)

// Options configures a Server.
type Options struct {
	// FHIRBase is the absolute FHIR base URL, e.g.
	// https://junction.example/fhir. It is the audience of every access
	// token, the value the aud parameter of an authorisation request
	// must carry, and the prefix of fhirUser claims. Required.
	FHIRBase string
	// Issuer is the authorisation server's URL; endpoints are
	// Issuer+"/auth/authorize" and so on. Default: FHIRBase's scheme and
	// host.
	Issuer string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives refusals and failures (default slog.Default()).
	Logger *slog.Logger
	// HTTPClient fetches JWKS documents (default: a client with a 10s timeout).
	HTTPClient *http.Client
	// KeyRotation is the age at which the signing key is replaced
	// automatically: 0 means DefaultKeyRotation, negative never.
	KeyRotation time.Duration
	// UserTokenLifetime and SystemTokenLifetime are the access token
	// lifetimes (default and maximum MaxUserTokenLifetime and
	// MaxSystemTokenLifetime).
	UserTokenLifetime   time.Duration
	SystemTokenLifetime time.Duration
	// External lists the OpenID Connect issuers whose tokens are
	// accepted as well as this server's own (see LoadExternalIssuers).
	External []ExternalIssuer
	// PatientByNHSNumber finds the Patient id for an NHS number, for
	// patients signing in with an external identity provider; it returns
	// ErrNotFound when there is none. Required when an external issuer
	// maps an NHS number.
	PatientByNHSNumber func(ctx context.Context, nhsNumber string) (string, error)
	// LookupPatient, when set, checks a Patient id chosen in the patient
	// picker and returns a display name for it, or ErrNotFound.
	LookupPatient func(ctx context.Context, id string) (string, error)
	// Realm is the realm of WWW-Authenticate challenges (default "junction").
	Realm string
}

// Server is the authorisation server and token validator. It is safe for
// concurrent use.
type Server struct {
	db      DB
	opt     Options
	issuer  string
	base    string // FHIRBase without a trailing slash
	log     *slog.Logger
	now     func() time.Time
	keys    *keyring
	jwks    *jwksCache
	ext     map[string]*ExternalIssuer
	status  statusCache
	limiter loginLimiter
}

// New returns a Server over db, creating the first signing key if there
// is none. db is the backend store (see DB).
func New(ctx context.Context, db DB, opt Options) (*Server, error) {
	base, err := url.Parse(opt.FHIRBase)
	if err != nil || !base.IsAbs() || base.Host == "" || (base.Scheme != "https" && base.Scheme != "http") {
		return nil, fmt.Errorf("authn: FHIR base %q must be an absolute http(s) URL", opt.FHIRBase)
	}
	s := &Server{db: db, opt: opt, base: strings.TrimSuffix(opt.FHIRBase, "/"), log: opt.Logger, now: opt.Now}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.issuer = strings.TrimSuffix(opt.Issuer, "/")
	if s.issuer == "" {
		s.issuer = base.Scheme + "://" + base.Host
	}
	if u, err := url.Parse(s.issuer); err != nil || !u.IsAbs() || u.Host == "" {
		return nil, fmt.Errorf("authn: issuer %q must be an absolute URL", opt.Issuer)
	}
	switch {
	case opt.UserTokenLifetime == 0:
		s.opt.UserTokenLifetime = MaxUserTokenLifetime
	case opt.UserTokenLifetime < 0 || opt.UserTokenLifetime > MaxUserTokenLifetime:
		return nil, fmt.Errorf("authn: user token lifetime must be between 0 and %s", MaxUserTokenLifetime)
	}
	switch {
	case opt.SystemTokenLifetime == 0:
		s.opt.SystemTokenLifetime = MaxSystemTokenLifetime
	case opt.SystemTokenLifetime < 0 || opt.SystemTokenLifetime > MaxSystemTokenLifetime:
		return nil, fmt.Errorf("authn: system token lifetime must be between 0 and %s", MaxSystemTokenLifetime)
	}
	if s.opt.Realm == "" {
		s.opt.Realm = "junction"
	}
	rotate := opt.KeyRotation
	if rotate == 0 {
		rotate = DefaultKeyRotation
	} else if rotate < 0 {
		rotate = 0
	}
	client := opt.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	s.keys = &keyring{db: db, now: s.now, rotateEvery: rotate}
	s.jwks = &jwksCache{client: client, now: s.now}
	s.status = statusCache{db: db, now: s.now, entries: map[string]statusEntry{}}
	s.limiter = loginLimiter{now: s.now, failures: map[string][]time.Time{}}
	if s.ext, err = indexExternal(opt.External, opt.PatientByNHSNumber != nil); err != nil {
		return nil, err
	}
	if err := s.keys.load(ctx); err != nil {
		return nil, err
	}
	if _, err := s.keys.signing(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Endpoint URLs.
func (s *Server) authorizeURL() string  { return s.issuer + "/auth/authorize" }
func (s *Server) tokenURL() string      { return s.issuer + "/auth/token" }
func (s *Server) introspectURL() string { return s.issuer + "/auth/introspect" }
func (s *Server) jwksURL() string       { return s.issuer + "/auth/jwks" }
func (s *Server) launchURL() string     { return s.issuer + "/auth/launch" }

// TokenURL is the token endpoint: the aud a client assertion must carry.
func (s *Server) TokenURL() string { return s.tokenURL() }

// Handler serves /.well-known/smart-configuration (at the root and under
// the FHIR base's path, where SMART clients look for it),
// /.well-known/openid-configuration, and /auth/authorize, /auth/token,
// /auth/introspect, /auth/jwks and /auth/launch. Mount it for those
// paths ahead of the FHIR handler; it needs no authentication in front.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/smart-configuration", s.serveSMARTConfig)
	if p := s.basePath(); p != "" {
		mux.HandleFunc("GET "+p+"/.well-known/smart-configuration", s.serveSMARTConfig)
	}
	mux.HandleFunc("GET /.well-known/openid-configuration", s.serveOpenIDConfig)
	mux.HandleFunc("GET /auth/jwks", s.serveJWKS)
	mux.HandleFunc("GET /auth/authorize", s.serveAuthorize)
	mux.HandleFunc("POST /auth/authorize", s.serveAuthorize)
	mux.HandleFunc("POST /auth/token", s.serveToken)
	mux.HandleFunc("POST /auth/introspect", s.serveIntrospect)
	mux.HandleFunc("POST /auth/launch", s.serveLaunch)
	return mux
}

// basePath is the path of the FHIR base ("" for a base at the root).
func (s *Server) basePath() string {
	u, _ := url.Parse(s.base)
	return strings.TrimSuffix(u.Path, "/")
}

// oauthError is an error response of RFC 6749 section 5.2 (token and
// introspection endpoints) or 4.1.2.1 (authorisation redirects).
type oauthError struct {
	Code        string // invalid_request, invalid_client, invalid_grant, unauthorized_client, unsupported_grant_type, invalid_scope
	Description string // for the client developer; never internal detail
	Status      int    // 400, or 401 for invalid_client
}

func (e *oauthError) Error() string { return e.Code + ": " + e.Description }

func errRequest(format string, a ...any) *oauthError {
	return &oauthError{Code: "invalid_request", Description: fmt.Sprintf(format, a...), Status: http.StatusBadRequest}
}

func errClient(format string, a ...any) *oauthError {
	return &oauthError{Code: "invalid_client", Description: fmt.Sprintf(format, a...), Status: http.StatusUnauthorized}
}

func errGrant(format string, a ...any) *oauthError {
	return &oauthError{Code: "invalid_grant", Description: fmt.Sprintf(format, a...), Status: http.StatusBadRequest}
}

func errScope(format string, a ...any) *oauthError {
	return &oauthError{Code: "invalid_scope", Description: fmt.Sprintf(format, a...), Status: http.StatusBadRequest}
}

// noStore sets the headers RFC 6749 section 5.1 requires on every
// response carrying tokens or credentials.
func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}

// writeJSON answers v as JSON with status, never cached.
func writeJSON(w http.ResponseWriter, status int, v any) {
	noStore(w)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// writeError answers err as an RFC 6749 section 5.2 error. An error that
// is not an *oauthError is a server failure: it is logged, and the client
// sees only a generic server_error.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var oe *oauthError
	if !errors.As(err, &oe) {
		s.log.Error("authn: request failed", "path", r.URL.Path, "err", err)
		oe = &oauthError{Code: "server_error", Description: "the server could not complete the request", Status: http.StatusInternalServerError}
	} else {
		s.log.Info("authn: request refused", "path", r.URL.Path, "error", oe.Code, "reason", oe.Description)
	}
	if oe.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="`+s.opt.Realm+`"`)
	}
	writeJSON(w, oe.Status, map[string]string{"error": oe.Code, "error_description": oe.Description})
}

// statusTTL is how long a user's or client's enabled state is cached
// by Authenticate: disabling one stops its live tokens within this time.
const statusTTL = 30 * time.Second

// statusCache remembers whether users and clients are disabled.
type statusCache struct {
	db  DB
	now func() time.Time

	mu      sync.Mutex
	entries map[string]statusEntry
}

type statusEntry struct {
	disabled bool
	at       time.Time
}

// disabled reports whether the row of table with id is disabled or
// missing. A database error counts as disabled: fail closed.
func (c *statusCache) disabled(ctx context.Context, table, id string) bool {
	key := table + "/" + id
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && now.Sub(e.at) < statusTTL {
		return e.disabled
	}
	var d int64
	found, err := queryOne(ctx, c.db, "SELECT disabled FROM "+table+" WHERE id = ?", []any{id}, &d)
	if err != nil {
		return true
	}
	e = statusEntry{disabled: !found || d != 0, at: now}
	c.mu.Lock()
	if len(c.entries) > 100000 {
		c.entries = map[string]statusEntry{}
	}
	c.entries[key] = e
	c.mu.Unlock()
	return e.disabled
}

// loginLimiter slows password guessing: after loginMaxFailures failed
// sign-ins for one username within loginWindow, further attempts are
// refused until the window has passed.
type loginLimiter struct {
	now func() time.Time

	mu       sync.Mutex
	failures map[string][]time.Time
}

const (
	loginMaxFailures = 5
	loginWindow      = 15 * time.Minute
)

func (l *loginLimiter) recent(user string) []time.Time {
	cut := l.now().Add(-loginWindow)
	var kept []time.Time
	for _, t := range l.failures[user] {
		if t.After(cut) {
			kept = append(kept, t)
		}
	}
	return kept
}

// blocked reports whether user has failed too often lately.
func (l *loginLimiter) blocked(user string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.recent(user)) >= loginMaxFailures
}

// fail records a failed sign-in for user.
func (l *loginLimiter) fail(user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.failures) > 100000 {
		l.failures = map[string][]time.Time{}
	}
	l.failures[user] = append(l.recent(user), l.now())
}

// succeed forgets user's failures.
func (l *loginLimiter) succeed(user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.failures, user)
}
