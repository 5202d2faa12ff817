package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/nhs-junction/junction/internal/access"
	"github.com/nhs-junction/junction/internal/authn"
	"github.com/nhs-junction/junction/internal/config"
	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/search"
)

// fhirBase is the FHIR base tokens are issued for (their aud): the
// configured public base, or the listen address's.
func fhirBase(cfg config.Config) string {
	if cfg.BaseURL != "" {
		return strings.TrimSuffix(cfg.BaseURL, "/")
	}
	return "http://" + cfg.Addr + "/fhir"
}

// decider builds the access decision from the configured policy file, or
// the built-in baseline.
func decider(cfg config.Config) (*access.Decider, error) {
	if cfg.AccessPolicy == "" {
		return access.NewDecider(nil), nil
	}
	p, err := access.LoadPolicy(cfg.AccessPolicy)
	if err != nil {
		return nil, fmt.Errorf("--access-policy: %w", err)
	}
	return access.NewDecider(p), nil
}

// newAuth builds the authorisation server over the backend store.
func newAuth(ctx context.Context, cfg config.Config, engine *search.Engine) (*authn.Server, error) {
	db, ok := engine.Store.(authn.DB)
	if !ok {
		return nil, fmt.Errorf("the store %T cannot hold users and clients", engine.Store)
	}
	return authn.New(ctx, db, authn.Options{FHIRBase: fhirBase(cfg)})
}

// authenticate turns the authorisation server's verdict into the HTTP
// layer's: no token or a bad one is 401 (or 400) with the RFC 6750
// challenge; anything else is an internal error.
func authenticate(srv *authn.Server) func(r *http.Request) (*access.Caller, error) {
	return func(r *http.Request) (*access.Caller, error) {
		c, err := srv.Authenticate(r)
		if err == nil {
			return c, nil
		}
		var te *authn.TokenError
		switch {
		case errors.Is(err, authn.ErrNoToken):
			e := fhir.Errorf(401, fhir.IssueLogin, "The request needs an access token (Authorization: Bearer ...); see /.well-known/smart-configuration")
			e.Header = http.Header{"Www-Authenticate": {srv.Challenge(err)}}
			return nil, e
		case errors.As(err, &te):
			e := fhir.Errorf(te.Status(), fhir.IssueLogin, "The access token was refused: %s", te.Description)
			e.Header = http.Header{"Www-Authenticate": {srv.Challenge(err)}}
			return nil, e
		}
		return nil, err
	}
}

// authRoutes are the authorisation server's endpoints beside the FHIR API.
func authRoutes(srv *authn.Server) map[string]http.Handler {
	h := srv.Handler()
	return map[string]http.Handler{"/auth/": h, "/.well-known/": h, "/fhir/.well-known/": h}
}

// demoAuth creates the demo users and clients and returns how to get a
// token, for serve --demo with authorisation on.
func demoAuth(ctx context.Context, cfg config.Config, srv *authn.Server) (string, error) {
	keyFile := filepath.Join(cfg.Data, "demo-backend-key.json")
	info, err := srv.Demo(ctx, authn.DemoOptions{KeyFile: keyFile, Patient: demoPatientID()})
	if err != nil {
		return "", err
	}
	return info.Instructions, nil
}
