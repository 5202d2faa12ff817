package authn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/nhs-junction/junction/internal/access"
)

// ErrNoToken reports a request without an Authorization header. The
// HTTP layer answers 401 with a WWW-Authenticate challenge that carries
// no error code (RFC 6750 section 3.1: a request without credentials
// gets none).
var ErrNoToken = errors.New("authn: no bearer token")

// TokenError is a bearer token refused (RFC 6750 section 3.1). The HTTP
// layer answers Status() with the WWW-Authenticate value Challenge gives.
type TokenError struct {
	// Code is invalid_request (malformed Authorization header) or
	// invalid_token (expired, revoked, wrong audience or issuer, bad
	// signature).
	Code string
	// Description is safe to show to the client.
	Description string
}

func (e *TokenError) Error() string { return "authn: " + e.Code + ": " + e.Description }

// Status is the HTTP status for the error: 400 for invalid_request, 401
// for invalid_token.
func (e *TokenError) Status() int {
	if e.Code == "invalid_request" {
		return http.StatusBadRequest
	}
	return http.StatusUnauthorized
}

// Challenge returns the WWW-Authenticate header value for an error
// Authenticate returned (RFC 6750 section 3): the realm, and for a
// *TokenError its error code and description.
func Challenge(realm string, err error) string {
	out := `Bearer realm="` + quoteSafe(realm) + `"`
	var te *TokenError
	if errors.As(err, &te) {
		out += `, error="` + te.Code + `", error_description="` + quoteSafe(te.Description) + `"`
	}
	return out
}

// Challenge is the package Challenge with the Server's realm.
func (s *Server) Challenge(err error) string { return Challenge(s.opt.Realm, err) }

// quoteSafe drops the characters a quoted-string cannot carry plainly.
func quoteSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '"' || r == '\\' || r < 0x20 || r > 0x7e {
			return -1
		}
		return r
	}, s)
}

func invalidToken(format string, a ...any) error {
	return &TokenError{Code: "invalid_token", Description: fmt.Sprintf(format, a...)}
}

// maxTokenBytes bounds a bearer token.
const maxTokenBytes = 16 << 10

// tokenAlgs are the signature algorithms a bearer token may use: this
// server's own and the asymmetric ones external issuers use. HMAC and
// "none" are never accepted.
var tokenAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512, jose.ES256, jose.ES384, jose.ES512}

// bearer extracts the token of an Authorization: Bearer header.
func bearer(r *http.Request) (string, error) {
	hs := r.Header.Values("Authorization")
	if len(hs) == 0 {
		return "", ErrNoToken
	}
	if len(hs) > 1 {
		return "", &TokenError{Code: "invalid_request", Description: "more than one Authorization header"}
	}
	scheme, tok, ok := strings.Cut(hs[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", &TokenError{Code: "invalid_request", Description: "the Authorization header must be Bearer <token>"}
	}
	tok = strings.TrimSpace(tok)
	if tok == "" || len(tok) > maxTokenBytes {
		return "", &TokenError{Code: "invalid_request", Description: "the bearer token is empty or too long"}
	}
	return tok, nil
}

// Authenticate validates the request's bearer token (RFC 6750 section
// 2.1: the Authorization header only) and returns who is calling. It
// accepts this server's access tokens (signature by a published key,
// typ at+jwt, iss, aud = the FHIR base, exp, nbf; user or client not
// disabled) and tokens of the configured external issuers. The error is
// ErrNoToken when there is no token, otherwise a *TokenError (or, for a
// failed database lookup, another error: answer 500).
//
// The Caller's Patients are, for a patient user, the Patients linked to
// them with the launch patient first; for staff with a patient in launch
// context, that one patient. Address is the request's RemoteAddr host:
// a server behind a proxy should replace it.
func (s *Server) Authenticate(r *http.Request) (*access.Caller, error) {
	tok, err := bearer(r)
	if err != nil {
		return nil, err
	}
	c, _, err := s.validate(r.Context(), tok)
	if err != nil {
		return nil, err
	}
	c.Address = r.RemoteAddr
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		c.Address = host
	}
	return c, nil
}

// validate checks a bearer token and returns its Caller, and for this
// server's own tokens their claims (nil for external ones).
func (s *Server) validate(ctx context.Context, raw string) (*access.Caller, *tokenClaims, error) {
	tok, err := jwt.ParseSigned(raw, tokenAlgs)
	if err != nil {
		return nil, nil, invalidToken("not a signed JWT")
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return nil, nil, invalidToken("unreadable claims")
	}
	if unverified.Issuer != s.issuer {
		ext := s.ext[unverified.Issuer]
		if ext == nil {
			return nil, nil, invalidToken("unknown issuer")
		}
		c, err := s.validateExternal(ctx, ext, tok)
		return c, nil, err
	}
	var cl tokenClaims
	if err := s.verifyParsed(ctx, tok, typAccess, s.base, &cl, &cl.Claims); err != nil {
		return nil, nil, invalidToken("%s", strings.TrimPrefix(err.Error(), errTokenInvalid.Error()+": "))
	}
	kind := access.Kind(cl.Kind)
	switch kind {
	case access.Practitioner, access.PatientUser, access.System, access.PrivacyOfficer, access.Admin:
	default:
		return nil, nil, invalidToken("unknown caller kind")
	}
	if cl.User && s.status.disabled(ctx, "auth_user", cl.Subject) {
		return nil, nil, invalidToken("the user is disabled")
	}
	if cl.ClientID != "" && s.status.disabled(ctx, "auth_client", cl.ClientID) {
		return nil, nil, invalidToken("the client is disabled")
	}
	return &access.Caller{Kind: kind, Subject: cl.Subject, Name: cl.Name, ClientID: cl.ClientID, Organization: cl.Org,
		Roles: cl.Roles, Practitioner: cl.Practitioner, Patients: cl.Patients, Scopes: splitList(cl.Scope)}, &cl, nil
}

// verifyParsed is verifyOwn for a token already parsed.
func (s *Server) verifyParsed(ctx context.Context, tok *jwt.JSONWebToken, typ, aud string, claims any, reg *jwt.Claims) error {
	h := tok.Headers[0]
	if h.Algorithm != string(serverAlg) {
		return fmt.Errorf("%w: unexpected algorithm", errTokenInvalid)
	}
	if t, _ := h.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(t, typ) {
		return fmt.Errorf("%w: not an access token", errTokenInvalid)
	}
	pub, ok := s.keys.verifier(ctx, h.KeyID)
	if !ok {
		return fmt.Errorf("%w: unknown signing key", errTokenInvalid)
	}
	if err := tok.Claims(pub, claims, reg); err != nil {
		return fmt.Errorf("%w: signature does not verify", errTokenInvalid)
	}
	return s.checkTime(*reg, aud, s.issuer)
}
