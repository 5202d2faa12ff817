package authn

import "context"

// SignJWT signs claims with the server's current signing key (the key
// published at JWKSURL, header kid naming it, typ JWT). It is for
// messages the server sends as itself to other parties, such as the
// CDS Hooks 2.0 §Trusting CDS Clients JWT of a call to an external CDS
// service; the caller sets every claim (iss, aud, exp, iat, jti).
func (s *Server) SignJWT(ctx context.Context, claims any) (string, error) {
	return s.sign(ctx, "JWT", claims)
}

// JWKSURL is the URL of the server's published public keys, where a
// party that receives a JWT from SignJWT verifies it.
func (s *Server) JWKSURL() string { return s.jwksURL() }

// Issuer is the server's base URL as it names itself in what it signs.
func (s *Server) Issuer() string { return s.issuer }
