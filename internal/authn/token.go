package authn

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"regexp"
	"strings"
)

// maxFormBytes bounds a token, introspection or authorisation form.
const maxFormBytes = 64 << 10

// parseForm reads an application/x-www-form-urlencoded body (RFC 6749
// section 3.2: the token endpoint takes POST with form parameters only;
// parameters in the query string are ignored). A parameter sent twice is
// refused (section 3.1).
func parseForm(w http.ResponseWriter, r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if !strings.HasPrefix(strings.ToLower(ct), "application/x-www-form-urlencoded") {
		return errRequest("the body must be application/x-www-form-urlencoded")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return errRequest("the form could not be read")
	}
	for k, v := range r.PostForm {
		if len(v) > 1 && k != "scope_grant" {
			return errRequest("parameter %s is repeated", k)
		}
	}
	return nil
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.writeError(w, r, err)
		return
	}
	var resp map[string]any
	var err error
	switch gt := r.PostForm.Get("grant_type"); gt {
	case "authorization_code":
		resp, err = s.grantCode(r)
	case "refresh_token":
		resp, err = s.grantRefresh(r)
	case "client_credentials":
		resp, err = s.grantClientCredentials(r)
	case "":
		err = errRequest("grant_type is required")
	default:
		err = &oauthError{Code: "unsupported_grant_type", Description: "grant_type " + gt + " is not supported", Status: http.StatusBadRequest}
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// grantClientCredentials is SMART Backend Services: a confidential
// client authenticates with a private_key_jwt assertion and receives a
// system token with at most the system/ scopes it was registered with.
func (s *Server) grantClientCredentials(r *http.Request) (map[string]any, error) {
	ctx := r.Context()
	c, err := s.authenticateClient(ctx, r.PostForm, false, s.tokenURL())
	if err != nil {
		return nil, err
	}
	requested := r.PostForm.Get("scope")
	if requested == "" {
		return nil, errScope("scope is required")
	}
	granted := grantScopes(requested, c.Scopes, "system")
	if len(granted) == 0 {
		return nil, errScope("none of the requested scopes is registered for this client")
	}
	tok, life, err := s.systemAccessToken(ctx, c, granted)
	if err != nil {
		return nil, err
	}
	return map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": int(life.Seconds()), "scope": joinList(granted)}, nil
}

// pkceVerifierRE is RFC 7636 section 4.1: 43 to 128 unreserved characters.
var pkceVerifierRE = regexp.MustCompile(`^[A-Za-z0-9\-._~]{43,128}$`)

// s256 is the S256 code challenge of a verifier (RFC 7636 section 4.2).
func s256(verifier string) string {
	h := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// grantCode exchanges an authorisation code (RFC 6749 section 4.1.3)
// with PKCE verification (RFC 7636 section 4.6). A code is used once: a
// second use is refused and revokes the refresh tokens issued from it
// (section 4.1.2).
func (s *Server) grantCode(r *http.Request) (map[string]any, error) {
	ctx := r.Context()
	f := r.PostForm
	c, err := s.authenticateClient(ctx, f, true, s.tokenURL())
	if err != nil {
		return nil, err
	}
	code, verifier := f.Get("code"), f.Get("code_verifier")
	if code == "" {
		return nil, errRequest("code is required")
	}
	if !pkceVerifierRE.MatchString(verifier) {
		return nil, errRequest("code_verifier is required: 43 to 128 characters [A-Za-z0-9-._~] (RFC 7636)")
	}
	var g userGrant
	var redirect, challenge string
	var scopes string
	var found, reused bool
	now := s.now().Unix()
	err = write(ctx, s.db, func(tx sqlTx) error {
		if err := tx.ExecShared(ctx, "DELETE FROM auth_code WHERE expires < ?", now-3600); err != nil {
			return err
		}
		var err error
		found, err = queryOne(ctx, tx, "UPDATE auth_code SET used = 1 WHERE code_hash = ? AND used = 0 AND expires >= ? "+
			"RETURNING grant_id, client_id, user_id, redirect_uri, scopes, patient, encounter, challenge, nonce, auth_time",
			[]any{hashSecret(code), now}, &g.ID, &g.ClientID, &g.UserID, &redirect, &scopes, &g.Patient, &g.Encounter, &challenge, &g.Nonce, &g.AuthTime)
		if err != nil || found {
			return err
		}
		var gid string
		if reused, err = queryOne(ctx, tx, "SELECT grant_id FROM auth_code WHERE code_hash = ? AND used = 1", []any{hashSecret(code)}, &gid); err != nil || !reused {
			return err
		}
		return tx.ExecShared(ctx, "DELETE FROM auth_refresh WHERE grant_id = ?", gid)
	})
	if err != nil {
		return nil, err
	}
	if reused {
		return nil, errGrant("the authorization code has already been used; tokens issued from it are revoked")
	}
	if !found {
		return nil, errGrant("the authorization code is unknown or expired")
	}
	if g.ClientID != c.ID {
		return nil, errGrant("the authorization code was issued to another client")
	}
	if f.Get("redirect_uri") != redirect {
		return nil, errGrant("redirect_uri does not match the authorization request")
	}
	if subtle.ConstantTimeCompare([]byte(s256(verifier)), []byte(challenge)) != 1 {
		return nil, errGrant("code_verifier does not match the code_challenge (PKCE)")
	}
	g.Scopes = splitList(scopes)
	return s.userTokens(ctx, c, g, true)
}

// grantRefresh exchanges a refresh token (RFC 6749 section 6). Tokens
// rotate: each use returns a new refresh token and retires the old one;
// presenting a retired one again revokes the whole grant, as the OAuth
// 2.0 Security Best Current Practice (RFC 9700 section 4.14.2) advises,
// since one of the two parties holding it is an attacker. A narrower
// scope may be asked for; never a wider one.
func (s *Server) grantRefresh(r *http.Request) (map[string]any, error) {
	ctx := r.Context()
	f := r.PostForm
	c, err := s.authenticateClient(ctx, f, true, s.tokenURL())
	if err != nil {
		return nil, err
	}
	rt := f.Get("refresh_token")
	if rt == "" {
		return nil, errRequest("refresh_token is required")
	}
	var g userGrant
	var scopes string
	var offline, expires int64
	var found, reused bool
	now := s.now().Unix()
	err = write(ctx, s.db, func(tx sqlTx) error {
		if err := tx.ExecShared(ctx, "DELETE FROM auth_refresh WHERE expires < ?", now-3600); err != nil {
			return err
		}
		var err error
		found, err = queryOne(ctx, tx, "UPDATE auth_refresh SET used = 1 WHERE token_hash = ? AND used = 0 AND expires >= ? "+
			"RETURNING grant_id, client_id, user_id, scopes, patient, encounter, auth_time, offline, expires",
			[]any{hashSecret(rt), now}, &g.ID, &g.ClientID, &g.UserID, &scopes, &g.Patient, &g.Encounter, &g.AuthTime, &offline, &expires)
		if err != nil {
			return err
		}
		if found {
			g.Scopes = splitList(scopes)
			if req := f.Get("scope"); req != "" {
				// RFC 6749 section 6: the new scope must not include
				// anything the grant did not. Refusing rolls back, so the
				// token stays usable.
				// The new refresh token keeps the grant's scope (section 6);
				// only the access token is narrowed.
				if g.Narrowed = grantScopes(req, g.Scopes, "patient", "user"); len(g.Narrowed) == 0 {
					return errScope("the requested scope exceeds the original grant")
				}
			}
			return nil
		}
		var gid string
		if reused, err = queryOne(ctx, tx, "SELECT grant_id FROM auth_refresh WHERE token_hash = ? AND used = 1", []any{hashSecret(rt)}, &gid); err != nil || !reused {
			return err
		}
		return tx.ExecShared(ctx, "DELETE FROM auth_refresh WHERE grant_id = ?", gid)
	})
	if err != nil {
		return nil, err
	}
	if reused {
		return nil, errGrant("the refresh token was already used; the grant is revoked")
	}
	if !found {
		return nil, errGrant("the refresh token is unknown, expired or revoked")
	}
	if g.ClientID != c.ID {
		return nil, errGrant("the refresh token was issued to another client")
	}
	return s.userTokens(ctx, c, g, false)
}

// userTokens issues the token response for a user grant: an access
// token, the launch context, an id_token when openid was granted with
// fhirUser or profile, and a refresh token when offline_access or
// online_access was granted.
func (s *Server) userTokens(ctx context.Context, c Client, g userGrant, first bool) (map[string]any, error) {
	u, _, err := lookupUser(ctx, s.db, "id", g.UserID)
	if isNotFound(err) || err == nil && u.Disabled {
		return nil, errGrant("the user is disabled or no longer exists")
	}
	if err != nil {
		return nil, err
	}
	if c.Disabled {
		return nil, errClient("client is disabled")
	}
	full := g.Scopes
	if g.Narrowed != nil {
		g.Scopes = g.Narrowed
	}
	tok, life, err := s.userAccessToken(ctx, c, u, g)
	if err != nil {
		return nil, err
	}
	resp := map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": int(life.Seconds()), "scope": joinList(g.Scopes)}
	if g.Patient != "" {
		resp["patient"] = g.Patient
		resp["need_patient_banner"] = true
	}
	if g.Encounter != "" {
		resp["encounter"] = g.Encounter
	}
	if hasScope(g.Scopes, "openid") && (hasScope(g.Scopes, "fhirUser") || hasScope(g.Scopes, "profile")) {
		id, err := s.idToken(ctx, c, u, g)
		if err != nil {
			return nil, err
		}
		resp["id_token"] = id
	}
	offline := hasScope(full, "offline_access")
	if offline || hasScope(full, "online_access") {
		expires := s.now().Add(offlineRefreshLifetime).Unix()
		if !offline {
			expires = g.AuthTime + int64(onlineRefreshLifetime.Seconds())
		}
		if expires > s.now().Unix() {
			rt := randomToken(32)
			err := write(ctx, s.db, func(tx sqlTx) error {
				return tx.ExecShared(ctx, "INSERT INTO auth_refresh (token_hash, grant_id, client_id, user_id, scopes, patient, encounter, auth_time, offline, expires, used) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
					hashSecret(rt), g.ID, c.ID, u.ID, joinList(full), g.Patient, g.Encounter, g.AuthTime, boolInt(offline), expires)
			})
			if err != nil {
				return nil, err
			}
			resp["refresh_token"] = rt
		}
	}
	return resp, nil
}

// allowedUserScopes removes the scopes no user may hold whatever the
// client asks: system/ scopes are for client_credentials only. (A patient
// user may hold user/ scopes: "what the user can access" is, for them,
// the compartments of the Patients linked to them.)
func allowedUserScopes(scopes []string) []string {
	return withoutContext(scopes, "system")
}
