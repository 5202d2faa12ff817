package authn

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/nhs-junction/junction/internal/access"
)

// authzRequest is an authorisation request (RFC 6749 section 4.1.1 with
// the SMART parameters launch and aud, and PKCE), once checked.
type authzRequest struct {
	ClientID    string `json:"client_id"`
	RedirectURI string `json:"redirect_uri"`
	Scope       string `json:"scope"`
	State       string `json:"state"`
	Challenge   string `json:"code_challenge"`
	Nonce       string `json:"nonce,omitempty"`
	Launch      string `json:"launch,omitempty"`
	// From the EHR launch the launch parameter names.
	LaunchUser      string `json:"launch_user,omitempty"`
	LaunchPatient   string `json:"launch_patient,omitempty"`
	LaunchEncounter string `json:"launch_encounter,omitempty"`
}

// flowClaims carry an authorisation request from page to page, signed by
// the server, so that nothing about it is kept on the server until a
// code is issued. CSRF is the SHA-256 of the value of the flow cookie
// the browser holds: a form posted from elsewhere has no matching cookie.
type flowClaims struct {
	jwt.Claims
	Req      authzRequest `json:"req"`
	CSRF     string       `json:"csrf"`
	UserID   string       `json:"uid,omitempty"`
	AuthTime int64        `json:"auth_time,omitempty"`
}

const flowCookie = "junction_authz"

var challengeRE = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

// redirectError is an error the client learns through its redirect URI
// (RFC 6749 section 4.1.2.1); any other error is shown to the person.
type redirectError struct {
	req         authzRequest
	code, descr string
}

func (e *redirectError) Error() string { return e.code + ": " + e.descr }

// pageError is shown to the person in the browser: the client or
// redirect URI could not be trusted with a redirect, or the form was not
// this server's.
type pageError struct{ msg string }

func (e *pageError) Error() string { return e.msg }

func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	err := s.authorize(w, r)
	if err == nil {
		return
	}
	var re *redirectError
	var pe *pageError
	switch {
	case errors.As(err, &re):
		s.log.Info("authn: authorization refused", "client", re.req.ClientID, "error", re.code, "reason", re.descr)
		q := url.Values{"error": {re.code}, "error_description": {re.descr}}
		if re.req.State != "" {
			q.Set("state", re.req.State)
		}
		redirectTo(w, r, re.req.RedirectURI, q, s.issuer)
	case errors.As(err, &pe):
		s.renderPage(w, http.StatusBadRequest, pageData{Title: "This sign-in request cannot be used", Error: pe.msg})
	default:
		s.log.Error("authn: authorize failed", "err", err)
		s.renderPage(w, http.StatusInternalServerError, pageData{Title: "Something went wrong", Error: "The server could not complete the sign-in. Please try again later."})
	}
}

// redirectTo sends the browser to redirectURI with q added to its query
// (and iss, RFC 9207, so the client can tell which server answered).
func redirectTo(w http.ResponseWriter, r *http.Request, redirectURI string, q url.Values, iss string) {
	u, _ := url.Parse(redirectURI)
	vals := u.Query()
	for k, v := range q {
		vals[k] = v
	}
	vals.Set("iss", iss)
	u.RawQuery = vals.Encode()
	noStore(w)
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

func (s *Server) authorize(w http.ResponseWriter, r *http.Request) error {
	var params url.Values
	if r.Method == http.MethodPost {
		if err := parseForm(w, r); err != nil {
			return &pageError{"The form could not be read."}
		}
		if r.PostForm.Has("flow") {
			return s.authorizeStep(w, r)
		}
		params = r.PostForm // authorize-post: the request itself as a form
	} else {
		params = r.URL.Query()
	}
	req, err := s.checkAuthzRequest(r.Context(), params)
	if err != nil {
		return err
	}
	csrf := randomToken(32)
	http.SetCookie(w, &http.Cookie{Name: flowCookie, Value: csrf, Path: "/auth/", HttpOnly: true,
		Secure: strings.HasPrefix(s.issuer, "https:"), SameSite: http.SameSiteStrictMode, MaxAge: int(flowLifetime.Seconds())})
	flow, err := s.signFlow(r.Context(), flowClaims{Req: req, CSRF: hashSecret(csrf)})
	if err != nil {
		return err
	}
	c, err := lookupClient(r.Context(), s.db, req.ClientID)
	if err != nil {
		return err
	}
	s.renderPage(w, http.StatusOK, pageData{Title: "Sign in", Client: c.Name, Flow: flow, Login: true})
	return nil
}

// checkAuthzRequest validates an authorisation request's parameters.
func (s *Server) checkAuthzRequest(ctx context.Context, p url.Values) (authzRequest, error) {
	for k, v := range p {
		if len(v) > 1 {
			return authzRequest{}, &pageError{"The request repeats the parameter " + k + "."}
		}
	}
	req := authzRequest{ClientID: p.Get("client_id"), RedirectURI: p.Get("redirect_uri"), Scope: p.Get("scope"),
		State: p.Get("state"), Challenge: p.Get("code_challenge"), Nonce: p.Get("nonce"), Launch: p.Get("launch")}
	c, err := lookupClient(ctx, s.db, req.ClientID)
	if isNotFound(err) || err == nil && c.Disabled {
		return req, &pageError{"The application that sent you here is not registered with this server."}
	}
	if err != nil {
		return req, err
	}
	if !slices.Contains(c.RedirectURIs, req.RedirectURI) {
		return req, &pageError{"The application asked to return you to an address it has not registered."}
	}
	fail := func(code, descr string) error { return &redirectError{req: req, code: code, descr: descr} }
	switch {
	case p.Get("response_type") != "code":
		return req, fail("unsupported_response_type", "response_type must be code")
	case req.State == "":
		return req, fail("invalid_request", "state is required")
	case strings.TrimSuffix(p.Get("aud"), "/") != s.base:
		return req, fail("invalid_request", "aud must be the FHIR base URL "+s.base)
	case p.Get("code_challenge_method") != "S256":
		return req, fail("invalid_request", "PKCE is required with code_challenge_method S256 (plain is not supported)")
	case !challengeRE.MatchString(req.Challenge):
		return req, fail("invalid_request", "code_challenge must be the base64url SHA-256 of the code_verifier")
	case len(req.State) > 1024 || len(req.Nonce) > 1024:
		return req, fail("invalid_request", "state and nonce must be at most 1024 characters")
	}
	if len(allowedUserScopes(grantScopes(req.Scope, c.Scopes, "patient", "user"))) == 0 {
		return req, fail("invalid_scope", "none of the requested scopes is registered for this client")
	}
	if req.Launch != "" {
		var expires int64
		found, err := queryOne(ctx, s.db, "SELECT user_id, patient, encounter, expires FROM auth_launch WHERE id = ?", []any{req.Launch},
			&req.LaunchUser, &req.LaunchPatient, &req.LaunchEncounter, &expires)
		if err != nil {
			return req, err
		}
		if !found || expires < s.now().Unix() {
			return req, fail("invalid_request", "the launch parameter is unknown or has expired")
		}
	}
	return req, nil
}

func (s *Server) signFlow(ctx context.Context, fc flowClaims) (string, error) {
	now := s.now()
	fc.Claims = jwt.Claims{Issuer: s.issuer, Audience: jwt.Audience{s.authorizeURL()}, IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(flowLifetime))}
	return s.sign(ctx, typFlow, fc)
}

// authorizeStep handles the sign-in and consent forms.
func (s *Server) authorizeStep(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var fc flowClaims
	var reg jwt.Claims
	if err := s.verifyOwn(ctx, r.PostForm.Get("flow"), typFlow, s.authorizeURL(), &fc, &reg); err != nil {
		return &pageError{"This sign-in page has expired. Go back to the application and start again."}
	}
	ck, err := r.Cookie(flowCookie)
	if err != nil || subtle.ConstantTimeCompare([]byte(hashSecret(ck.Value)), []byte(fc.CSRF)) != 1 {
		return &pageError{"This form was not sent from this browser's sign-in page. Go back to the application and start again."}
	}
	c, err := lookupClient(ctx, s.db, fc.Req.ClientID)
	if isNotFound(err) || err == nil && c.Disabled {
		return &pageError{"The application is no longer registered with this server."}
	}
	if err != nil {
		return err
	}
	switch r.PostForm.Get("action") {
	case "login":
		return s.login(w, r, c, fc)
	case "approve":
		return s.approve(w, r, c, fc)
	case "deny":
		return &redirectError{req: fc.Req, code: "access_denied", descr: "the user declined the request"}
	}
	return &pageError{"The form was incomplete."}
}

// login checks the username and password and shows the consent page.
func (s *Server) login(w http.ResponseWriter, r *http.Request, c Client, fc flowClaims) error {
	ctx := r.Context()
	username, password := r.PostForm.Get("username"), r.PostForm.Get("password")
	again := func(msg string) error {
		s.renderPage(w, http.StatusOK, pageData{Title: "Sign in", Client: c.Name, Flow: r.PostForm.Get("flow"), Login: true, Username: username, Error: msg})
		return nil
	}
	if s.limiter.blocked(username) {
		return again("Too many failed attempts for this username. Wait 15 minutes and try again.")
	}
	u, hash, err := lookupUser(ctx, s.db, "username", username)
	if err != nil && !isNotFound(err) {
		return err
	}
	if isNotFound(err) || u.Disabled {
		hash = dummyHash() // take as long as a real check
	}
	ok, herr := verifyPassword(hash, password)
	if herr != nil || !ok || isNotFound(err) || u.Disabled {
		s.limiter.fail(username)
		s.log.Info("authn: sign-in failed", "username", username)
		return again("The username or password is not right.")
	}
	s.limiter.succeed(username)
	if fc.Req.LaunchUser != "" && fc.Req.LaunchUser != u.ID {
		return &redirectError{req: fc.Req, code: "access_denied", descr: "the launch was started by another user"}
	}
	if u.Kind == access.PatientUser && fc.Req.LaunchPatient != "" && !slices.Contains(u.Patients, fc.Req.LaunchPatient) {
		return &redirectError{req: fc.Req, code: "access_denied", descr: "the launch patient is not linked to this user"}
	}
	fc.UserID, fc.AuthTime = u.ID, s.now().Unix()
	flow, err := s.signFlow(ctx, fc)
	if err != nil {
		return err
	}
	s.renderPage(w, http.StatusOK, s.consentPage(ctx, c, u, fc, flow, ""))
	return nil
}

// offer is what the consent page offers user u: the scopes the client
// asked for and may have, and whether a patient must be picked.
type offer struct {
	scopes      []string
	pickPatient bool // standalone launch needing a patient context
}

func (s *Server) offerFor(c Client, u User, req authzRequest) offer {
	granted := allowedUserScopes(grantScopes(req.Scope, c.Scopes, "patient", "user"))
	if req.LaunchEncounter == "" {
		granted = slices.DeleteFunc(granted, func(x string) bool { return x == "launch/encounter" })
	}
	if req.Launch == "" {
		// The launch scope asks for an EHR launch's context; there is none.
		granted = slices.DeleteFunc(granted, func(x string) bool { return x == "launch" })
	}
	needPatient := hasScope(granted, "launch/patient") || hasContext(granted, "patient")
	return offer{scopes: granted, pickPatient: needPatient && req.LaunchPatient == ""}
}

// approve issues an authorisation code for the scopes the user approved.
func (s *Server) approve(w http.ResponseWriter, r *http.Request, c Client, fc flowClaims) error {
	ctx := r.Context()
	if fc.UserID == "" {
		return &pageError{"Sign in first."}
	}
	u, _, err := lookupUser(ctx, s.db, "id", fc.UserID)
	if isNotFound(err) || err == nil && u.Disabled {
		return &redirectError{req: fc.Req, code: "access_denied", descr: "the user is disabled"}
	}
	if err != nil {
		return err
	}
	of := s.offerFor(c, u, fc.Req)
	var chosen []string
	for _, sc := range r.PostForm["scope_grant"] {
		if slices.Contains(of.scopes, sc) && !slices.Contains(chosen, sc) {
			chosen = append(chosen, sc)
		}
	}
	needPatient := hasScope(chosen, "launch/patient") || hasContext(chosen, "patient")
	patient := ""
	if needPatient || hasScope(chosen, "launch") {
		patient = fc.Req.LaunchPatient
	}
	if needPatient && patient == "" {
		patient = strings.TrimSpace(r.PostForm.Get("patient"))
		msg := ""
		switch {
		case patient == "":
			msg = "Choose a patient, or untick the permissions that need one."
		case !fhirIDRE.MatchString(patient):
			msg = "A patient id is letters, digits, '-' and '.' only."
		case u.Kind == access.PatientUser && !slices.Contains(u.Patients, patient):
			msg = "You can choose only yourself or someone you are authorised to act for."
		case s.opt.LookupPatient != nil:
			if _, err := s.opt.LookupPatient(ctx, patient); isNotFound(err) {
				msg = "There is no patient with that id."
			} else if err != nil {
				return err
			}
		}
		if msg != "" {
			s.renderPage(w, http.StatusOK, s.consentPage(ctx, c, u, fc, r.PostForm.Get("flow"), msg))
			return nil
		}
	}
	if patient == "" {
		// SMART: patient-level scopes come with a patient context; without
		// one they are not granted.
		chosen = withoutContext(chosen, "patient")
		chosen = slices.DeleteFunc(chosen, func(x string) bool { return x == "launch/patient" })
	}
	if len(chosen) == 0 {
		return &redirectError{req: fc.Req, code: "access_denied", descr: "no permission was approved"}
	}
	encounter := ""
	if hasScope(chosen, "launch/encounter") || hasScope(chosen, "launch") {
		encounter = fc.Req.LaunchEncounter
	}
	code := randomToken(32)
	err = write(ctx, s.db, func(tx sqlTx) error {
		return tx.ExecShared(ctx, "INSERT INTO auth_code (code_hash, grant_id, client_id, user_id, redirect_uri, scopes, patient, encounter, challenge, nonce, auth_time, expires, used) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
			hashSecret(code), newID(), c.ID, u.ID, fc.Req.RedirectURI, joinList(chosen), patient, encounter, fc.Req.Challenge, fc.Req.Nonce, fc.AuthTime, s.now().Add(codeLifetime).Unix())
	})
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: flowCookie, Value: "", Path: "/auth/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	redirectTo(w, r, fc.Req.RedirectURI, url.Values{"code": {code}, "state": {fc.Req.State}}, s.issuer)
	return nil
}
