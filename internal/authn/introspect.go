package authn

import (
	"context"
	"errors"
	"net/http"

	"github.com/nhs-junction/junction/internal/access"
)

// serveIntrospect is token introspection (RFC 7662). The caller must be
// a registered confidential client authenticating with a private_key_jwt
// assertion (aud: the introspection or token endpoint), or present a
// bearer token this server issued to a client for itself
// (client_credentials). It answers {"active": false} for any token that
// is not a live token of this server, and for active ones the claims of
// section 2.2 plus the SMART launch context.
func (s *Server) serveIntrospect(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.writeError(w, r, err)
		return
	}
	ctx := r.Context()
	if _, err := bearer(r); !errors.Is(err, ErrNoToken) {
		c, cl, err := s.authBearer(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", s.Challenge(err))
			s.writeError(w, r, errClient("the bearer token is not a valid system token"))
			return
		}
		if cl == nil || cl.User || c.Kind == access.PatientUser {
			s.writeError(w, r, errClient("only a system client's token may introspect"))
			return
		}
	} else if _, err := s.authenticateClient(ctx, r.PostForm, false, s.introspectURL(), s.tokenURL()); err != nil {
		s.writeError(w, r, err)
		return
	}
	tok := r.PostForm.Get("token")
	if tok == "" {
		s.writeError(w, r, errRequest("token is required"))
		return
	}
	resp, err := s.introspect(ctx, tok)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// authBearer validates the request's bearer token.
func (s *Server) authBearer(r *http.Request) (*access.Caller, *tokenClaims, error) {
	tok, err := bearer(r)
	if err != nil {
		return nil, nil, err
	}
	return s.validate(r.Context(), tok)
}

// introspect describes tok: an access token of this server, or a refresh
// token it issued.
func (s *Server) introspect(ctx context.Context, tok string) (map[string]any, error) {
	c, cl, err := s.validate(ctx, tok)
	var te *TokenError
	if err != nil && !errors.As(err, &te) {
		return nil, err
	}
	if err == nil && cl != nil {
		out := map[string]any{
			"active": true, "scope": cl.Scope, "client_id": cl.ClientID, "sub": cl.Subject, "iss": cl.Issuer,
			"aud": s.base, "exp": cl.Expiry.Time().Unix(), "iat": cl.IssuedAt.Time().Unix(), "token_type": "Bearer",
			"kind": string(c.Kind),
		}
		if cl.Patient != "" {
			out["patient"] = cl.Patient
		}
		if cl.Encounter != "" {
			out["encounter"] = cl.Encounter
		}
		if cl.FHIRUser != "" {
			out["fhirUser"] = cl.FHIRUser
		}
		return out, nil
	}
	// A refresh token (opaque): active while unused, unexpired, and its
	// user and client are enabled.
	var clientID, userID, scopes, patient string
	var expires int64
	found, err := queryOne(ctx, s.db, "SELECT r.client_id, r.user_id, r.scopes, r.patient, r.expires FROM auth_refresh r "+
		"JOIN auth_user u ON u.id = r.user_id JOIN auth_client c ON c.id = r.client_id "+
		"WHERE r.token_hash = ? AND r.used = 0 AND r.expires >= ? AND u.disabled = 0 AND c.disabled = 0",
		[]any{hashSecret(tok), s.now().Unix()}, &clientID, &userID, &scopes, &patient, &expires)
	if err != nil {
		return nil, err
	}
	if !found {
		return map[string]any{"active": false}, nil
	}
	out := map[string]any{"active": true, "scope": scopes, "client_id": clientID, "sub": userID, "iss": s.issuer,
		"exp": expires, "token_type": "refresh_token"}
	if patient != "" {
		out["patient"] = patient
	}
	return out, nil
}

// NewLaunch records an EHR launch context and returns the opaque launch
// value the EHR passes to the app (SMART App Launch 2.x, "EHR Launch").
// userID, when not empty, is the only user who may complete it; patient
// and encounter are the context the app receives. It expires after ten
// minutes.
func (s *Server) NewLaunch(ctx context.Context, userID, patient, encounter string) (string, error) {
	if patient != "" && !fhirIDRE.MatchString(patient) || encounter != "" && !fhirIDRE.MatchString(encounter) {
		return "", errRequest("patient and encounter must be FHIR ids")
	}
	id := randomToken(24)
	now := s.now().Unix()
	err := write(ctx, s.db, func(tx sqlTx) error {
		if err := tx.ExecShared(ctx, "DELETE FROM auth_launch WHERE expires < ?", now); err != nil {
			return err
		}
		return tx.ExecShared(ctx, "INSERT INTO auth_launch (id, user_id, patient, encounter, expires) VALUES (?, ?, ?, ?, ?)",
			id, userID, patient, encounter, now+int64(launchLifetime.Seconds()))
	})
	return id, err
}

// serveLaunch lets an EHR front end (a member of staff's token, or a
// system client's) create a launch: POST patient=ID[&encounter=ID].
// A launch made with a user's token can be completed only by that user.
func (s *Server) serveLaunch(w http.ResponseWriter, r *http.Request) {
	c, cl, err := s.authBearer(r)
	if err != nil {
		var te *TokenError
		if errors.As(err, &te) || errors.Is(err, ErrNoToken) {
			w.Header().Set("WWW-Authenticate", s.Challenge(err))
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": "a bearer token of this server is required"})
			return
		}
		s.writeError(w, r, err)
		return
	}
	if cl == nil || c.Kind == access.PatientUser {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "insufficient_scope", "error_description": "only staff and system clients may create launches"})
		return
	}
	if err := parseForm(w, r); err != nil {
		s.writeError(w, r, err)
		return
	}
	user := ""
	if cl.User {
		user = cl.Subject
	}
	patient, encounter := r.PostForm.Get("patient"), r.PostForm.Get("encounter")
	if patient == "" {
		s.writeError(w, r, errRequest("patient is required"))
		return
	}
	id, err := s.NewLaunch(r.Context(), user, patient, encounter)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"launch": id, "expires_in": int(launchLifetime.Seconds())})
}
