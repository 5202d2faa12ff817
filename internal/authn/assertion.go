package authn

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// AssertionType is the client_assertion_type of private_key_jwt client
// authentication (RFC 7523 section 2.2).
const AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// MaxAssertionLifetime is the longest a client assertion may be valid:
// SMART Backend Services requires exp no more than five minutes in the
// future.
const MaxAssertionLifetime = 5 * time.Minute

// maxAssertionBytes bounds the assertion a client may send.
const maxAssertionBytes = 16 << 10

// authenticateClient authenticates the client of a token or
// introspection request. A client_assertion (private_key_jwt, RFC 7523)
// authenticates a confidential client; when publicOK, a public client
// may instead identify itself with client_id alone (it proves possession
// of the grant with PKCE). Any other client authentication is refused.
func (s *Server) authenticateClient(ctx context.Context, form url.Values, publicOK bool, auds ...string) (Client, error) {
	if at := form.Get("client_assertion_type"); at != "" || form.Get("client_assertion") != "" {
		if at != AssertionType {
			return Client{}, errClient("client_assertion_type must be %s", AssertionType)
		}
		c, err := s.verifyAssertion(ctx, form.Get("client_assertion"), auds)
		if err != nil {
			return Client{}, err
		}
		if id := form.Get("client_id"); id != "" && id != c.ID {
			return Client{}, errClient("client_id does not match the assertion's issuer")
		}
		return c, nil
	}
	id := form.Get("client_id")
	if id == "" {
		return Client{}, errClient("client authentication is required (client_assertion, or client_id for a public client)")
	}
	c, err := lookupClient(ctx, s.db, id)
	if isNotFound(err) {
		return Client{}, errClient("unknown client")
	}
	if err != nil {
		return Client{}, err
	}
	if c.Disabled {
		return Client{}, errClient("client is disabled")
	}
	if !c.Public || !publicOK {
		return Client{}, errClient("this client must authenticate with a private_key_jwt client_assertion")
	}
	return c, nil
}

// verifyAssertion checks a private_key_jwt client assertion as SMART App
// Launch 2.x (client-confidential-asymmetric) and RFC 7523 section 3
// require: RS384 or ES384 with a kid naming a registered key (jku, when
// present, must be the registered JWKS URL); iss and sub the client_id;
// aud one of auds (the token endpoint URL); exp present, in the future
// and at most five minutes away (and at most five minutes after iat);
// a jti never seen before from this client (kept until exp).
func (s *Server) verifyAssertion(ctx context.Context, raw string, auds []string) (Client, error) {
	if raw == "" || len(raw) > maxAssertionBytes {
		return Client{}, errClient("client_assertion is missing or too long")
	}
	tok, err := jwt.ParseSigned(raw, assertionAlgs)
	if err != nil {
		return Client{}, errClient("client_assertion must be a compact JWS signed with RS384 or ES384")
	}
	h := tok.Headers[0]
	if h.KeyID == "" {
		return Client{}, errClient("client_assertion header has no kid")
	}
	if t, ok := h.ExtraHeaders[jose.HeaderType].(string); ok && !strings.EqualFold(t, "JWT") {
		return Client{}, errClient("client_assertion typ must be JWT")
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil || unverified.Issuer == "" {
		return Client{}, errClient("client_assertion has no iss")
	}
	c, err := lookupClient(ctx, s.db, unverified.Issuer)
	if isNotFound(err) {
		return Client{}, errClient("unknown client")
	}
	if err != nil {
		return Client{}, err
	}
	if c.Disabled {
		return Client{}, errClient("client is disabled")
	}
	if c.Public {
		return Client{}, errClient("a public client has no key to sign assertions with")
	}
	if jku, ok := h.ExtraHeaders["jku"].(string); ok && (c.JWKSURL == "" || jku != c.JWKSURL) {
		return Client{}, errClient("jku is not the client's registered JWKS URL")
	}
	key, err := s.clientKey(ctx, c, h.KeyID, h.Algorithm)
	if err != nil {
		return Client{}, err
	}
	var claims jwt.Claims
	if err := tok.Claims(key, &claims); err != nil {
		return Client{}, errClient("client_assertion signature does not verify with the registered key")
	}
	if claims.Issuer != c.ID || claims.Subject != c.ID {
		return Client{}, errClient("client_assertion iss and sub must both be the client_id")
	}
	if !slices.ContainsFunc(auds, claims.Audience.Contains) {
		return Client{}, errClient("client_assertion aud must be the token endpoint URL %s", auds[0])
	}
	now := s.now()
	if claims.Expiry == nil {
		return Client{}, errClient("client_assertion has no exp")
	}
	exp := claims.Expiry.Time()
	switch {
	case now.After(exp.Add(clockLeeway)):
		return Client{}, errClient("client_assertion has expired")
	case exp.Sub(now) > MaxAssertionLifetime+clockLeeway:
		return Client{}, errClient("client_assertion exp must be at most 5 minutes in the future")
	case claims.IssuedAt != nil && exp.Sub(claims.IssuedAt.Time()) > MaxAssertionLifetime:
		return Client{}, errClient("client_assertion lifetime (exp - iat) must be at most 5 minutes")
	case claims.IssuedAt != nil && claims.IssuedAt.Time().After(now.Add(clockLeeway)):
		return Client{}, errClient("client_assertion iat is in the future")
	case claims.NotBefore != nil && claims.NotBefore.Time().After(now.Add(clockLeeway)):
		return Client{}, errClient("client_assertion is not valid yet (nbf)")
	case claims.ID == "" || len(claims.ID) > 256:
		return Client{}, errClient("client_assertion needs a jti of at most 256 characters")
	}
	fresh, err := s.recordJTI(ctx, c.ID, claims.ID, exp.Add(clockLeeway))
	if err != nil {
		return Client{}, err
	}
	if !fresh {
		return Client{}, errClient("client_assertion jti has been used before (replay)")
	}
	return c, nil
}

// clientKey returns c's registered public key kid for alg: from the
// inline JWKS, or from the JWKS URL (fetched again once if kid is not in
// the cached copy, so a client can rotate its keys).
func (s *Server) clientKey(ctx context.Context, c Client, kid, alg string) (any, error) {
	if c.JWKS != "" {
		set, err := parseClientJWKS([]byte(c.JWKS))
		if err != nil {
			return nil, err
		}
		if k, ok := pickKey(set, kid, alg); ok {
			return k, nil
		}
		return nil, errClient("no registered key with kid %q for %s", kid, alg)
	}
	for _, refresh := range []bool{false, true} {
		set, err := s.jwks.get(ctx, c.JWKSURL, refresh, parseClientJWKS)
		if err != nil {
			s.log.Warn("authn: client JWKS unavailable", "client", c.ID, "err", err)
			return nil, errClient("the client's JWKS URL could not be read")
		}
		if k, ok := pickKey(set, kid, alg); ok {
			return k, nil
		}
	}
	return nil, errClient("no key with kid %q for %s at the client's JWKS URL", kid, alg)
}

// recordJTI records an assertion id until expires, reporting false when
// the client has used it before. The insert is one statement whose
// conflict clause makes the check atomic on both backends.
func (s *Server) recordJTI(ctx context.Context, clientID, jti string, expires time.Time) (bool, error) {
	fresh := false
	err := write(ctx, s.db, func(tx sqlTx) error {
		if err := tx.ExecShared(ctx, "DELETE FROM auth_jti WHERE expires < ?", s.now().Unix()); err != nil {
			return err
		}
		var got string
		var err error
		fresh, err = queryOne(ctx, tx, "INSERT INTO auth_jti (client_id, jti, expires) VALUES (?, ?, ?) ON CONFLICT (client_id, jti) DO NOTHING RETURNING jti",
			[]any{clientID, jti, expires.Unix() + 1}, &got)
		return err
	})
	return fresh, err
}
