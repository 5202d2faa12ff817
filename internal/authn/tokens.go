package authn

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/nhs-junction/junction/internal/access"
)

// JWT "typ" header values keep the server's three kinds of signed
// document apart, so that none can be passed off as another.
const (
	typAccess = "at+jwt" // RFC 9068 section 2.1
	typID     = "JWT"    // OpenID Connect id_token
	typFlow   = "junction-authz+jwt"
)

// tokenClaims are the claims of an access token: those of RFC 9068
// section 2.2, the SMART launch context, and what Authenticate needs to
// build an access.Caller without reading the database.
type tokenClaims struct {
	jwt.Claims
	ClientID     string   `json:"client_id,omitempty"`
	Scope        string   `json:"scope,omitempty"`
	Kind         string   `json:"kind,omitempty"`
	Name         string   `json:"name,omitempty"`
	Org          string   `json:"org,omitempty"`
	Roles        []string `json:"roles,omitempty"`
	Practitioner string   `json:"practitioner,omitempty"`
	Patients     []string `json:"patients,omitempty"`
	Patient      string   `json:"patient,omitempty"`
	Encounter    string   `json:"encounter,omitempty"`
	FHIRUser     string   `json:"fhirUser,omitempty"`
	// User is set when the subject is a user of this server (not a client).
	User bool `json:"usr,omitempty"`
}

// idClaims are the claims of an OpenID Connect id_token.
type idClaims struct {
	jwt.Claims
	AuthTime int64  `json:"auth_time,omitempty"`
	Nonce    string `json:"nonce,omitempty"`
	FHIRUser string `json:"fhirUser,omitempty"`
	Name     string `json:"name,omitempty"`
	AZP      string `json:"azp,omitempty"`
}

// sign signs claims with the current server key, with header typ.
func (s *Server) sign(ctx context.Context, typ string, claims any) (string, error) {
	sk, err := s.keys.signing(ctx)
	if err != nil {
		return "", err
	}
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ)).WithHeader("kid", sk.kid)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: serverAlg, Key: sk.priv}, opts)
	if err != nil {
		return "", err
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}

// errTokenInvalid is wrapped by every reason verifyOwn refuses a token.
var errTokenInvalid = errors.New("invalid token")

// verifyOwn checks a JWT this server signed: typ, signature by one of its
// published keys, issuer, audience aud, and time (exp required). claims
// must embed jwt.Claims; its registered claims are returned.
func (s *Server) verifyOwn(ctx context.Context, raw, typ, aud string, claims any, reg *jwt.Claims) error {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{serverAlg})
	if err != nil {
		return fmt.Errorf("%w: %v", errTokenInvalid, err)
	}
	return s.verifyParsed(ctx, tok, typ, aud, claims, reg)
}

// checkTime checks iss, aud, exp (required), nbf and iat with clockLeeway.
func (s *Server) checkTime(c jwt.Claims, aud, iss string) error {
	if c.Expiry == nil {
		return fmt.Errorf("%w: no exp", errTokenInvalid)
	}
	exp := jwt.Expected{Issuer: iss, Time: s.now()}
	if aud != "" {
		exp.AnyAudience = jwt.Audience{aud}
	}
	if err := c.ValidateWithLeeway(exp, clockLeeway); err != nil {
		return fmt.Errorf("%w: %v", errTokenInvalid, err)
	}
	return nil
}

// userGrant is what an authorisation code or refresh token stands for.
type userGrant struct {
	ID        string // ties a code and its refresh tokens together
	ClientID  string
	UserID    string
	Scopes    []string
	Narrowed  []string // a refresh's narrower scope for the access token, or nil
	Patient   string
	Encounter string
	Nonce     string
	AuthTime  int64
}

// fhirUser returns the absolute URL of the FHIR resource for u, or "".
func (s *Server) fhirUser(u User) string {
	switch {
	case u.Kind == access.PatientUser && len(u.Patients) > 0:
		return s.base + "/Patient/" + u.Patients[0]
	case u.Practitioner != "":
		return s.base + "/Practitioner/" + u.Practitioner
	}
	return ""
}

// userAccessToken issues an access token for u through client c.
func (s *Server) userAccessToken(ctx context.Context, c Client, u User, g userGrant) (string, time.Duration, error) {
	now := s.now()
	life := s.opt.UserTokenLifetime
	cl := tokenClaims{
		Claims: jwt.Claims{Issuer: s.issuer, Subject: u.ID, Audience: jwt.Audience{s.base}, IssuedAt: jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(life)), ID: randomToken(16)},
		ClientID: c.ID, Scope: joinList(g.Scopes), Kind: string(u.Kind), Name: u.Name, Org: u.ODS, Roles: u.Roles,
		Practitioner: u.Practitioner, Patient: g.Patient, Encounter: g.Encounter, FHIRUser: s.fhirUser(u), User: true,
	}
	// A patient user acts for the Patients linked to them, the launch
	// patient first; a member of staff in a patient launch has that
	// patient in context.
	if u.Kind == access.PatientUser {
		cl.Patients = orderFirst(u.Patients, g.Patient)
	} else if g.Patient != "" {
		cl.Patients = []string{g.Patient}
	}
	tok, err := s.sign(ctx, typAccess, cl)
	return tok, life, err
}

// orderFirst returns list with first (when it is in list) moved to the front.
func orderFirst(list []string, first string) []string {
	out := make([]string, 0, len(list))
	if first != "" && slices.Contains(list, first) {
		out = append(out, first)
	}
	for _, p := range list {
		if p != first {
			out = append(out, p)
		}
	}
	return out
}

// systemAccessToken issues an access token for client c acting for itself.
func (s *Server) systemAccessToken(ctx context.Context, c Client, scopes []string) (string, time.Duration, error) {
	now := s.now()
	life := s.opt.SystemTokenLifetime
	cl := tokenClaims{
		Claims: jwt.Claims{Issuer: s.issuer, Subject: c.ID, Audience: jwt.Audience{s.base}, IssuedAt: jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(life)), ID: randomToken(16)},
		ClientID: c.ID, Scope: joinList(scopes), Kind: string(c.Kind), Name: c.Name, Org: c.ODS,
	}
	tok, err := s.sign(ctx, typAccess, cl)
	return tok, life, err
}

// idToken issues an OpenID Connect id_token for u to client c.
func (s *Server) idToken(ctx context.Context, c Client, u User, g userGrant) (string, error) {
	now := s.now()
	cl := idClaims{
		Claims: jwt.Claims{Issuer: s.issuer, Subject: u.ID, Audience: jwt.Audience{c.ID}, IssuedAt: jwt.NewNumericDate(now),
			Expiry: jwt.NewNumericDate(now.Add(s.opt.UserTokenLifetime))},
		AuthTime: g.AuthTime, Nonce: g.Nonce, AZP: c.ID,
	}
	if hasScope(g.Scopes, "fhirUser") {
		cl.FHIRUser = s.fhirUser(u)
	}
	if hasScope(g.Scopes, "profile") || hasScope(g.Scopes, "fhirUser") {
		cl.Name = u.Name
	}
	return s.sign(ctx, typID, cl)
}
