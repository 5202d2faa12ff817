package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/nhs-junction/junction/internal/access"
	"github.com/nhs-junction/junction/internal/authn"
	"github.com/nhs-junction/junction/internal/cds/hooks"
	"github.com/nhs-junction/junction/internal/cds/news2obs"
	"github.com/nhs-junction/junction/internal/config"
	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/interaction"
	"github.com/nhs-junction/junction/internal/searchparam"
)

// withClinicalServices installs the built-in clinical services that run
// on write: NEWS2, calculated in the transaction of the vital signs that
// complete or change a set (package news2obs).
func withClinicalServices(svc *interaction.Service, st Backend) {
	svc.SetDeriver(news2obs.New(st, searchparam.R4()))
}

// cdsSigner is what signs the JWTs of calls to external CDS services:
// the authorisation server's key when there is one (published at
// /auth/jwks), else a key made at start-up (published at
// hooks.LocalJWKSPath).
type cdsSigner struct {
	sign  hooks.SignFunc
	local *hooks.LocalKey // nil when the authorisation server signs
}

func newCDSSigner(auth *authn.Server) (cdsSigner, error) {
	if auth != nil {
		return cdsSigner{sign: func(ctx context.Context, claims map[string]any) (string, error) {
			return auth.SignJWT(ctx, claims)
		}}, nil
	}
	k, err := hooks.NewLocalKey()
	if err != nil {
		return cdsSigner{}, err
	}
	return cdsSigner{sign: k.Sign, local: k}, nil
}

// withCDSHooks adds the CDS Hooks endpoints (/cds-services) to routes.
// Service calls and feedback are authenticated as FHIR requests are, and
// the prefetch queries a client leaves unfilled are answered through the
// interaction service as that caller, so a card shows only what the
// caller may see. The external services of cfg.CDSServices are called
// by the junction-all-<hook> services, with JWTs signed by auth's key
// (nil auth: a key made at start-up, served at hooks.LocalJWKSPath).
func withCDSHooks(routes map[string]http.Handler, svc *interaction.Service, authenticate func(*http.Request) (*access.Caller, error), cfg config.Config, auth *authn.Server, log *slog.Logger) (map[string]http.Handler, *hooks.Handler, error) {
	if routes == nil {
		routes = map[string]http.Handler{}
	}
	base := cfg.BaseURL
	fhirBase := func(r *http.Request) string {
		if base != "" {
			return strings.TrimSuffix(base, "/")
		}
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		return scheme + "://" + r.Host + "/fhir"
	}
	var ext *hooks.ExternalClient
	if cfg.CDSServices != "" {
		list, err := hooks.LoadExternalConfig(cfg.CDSServices)
		if err != nil {
			return nil, nil, fmt.Errorf("--cds-services: %w", err)
		}
		signer, err := newCDSSigner(auth)
		if err != nil {
			return nil, nil, err
		}
		opts := hooks.ExternalOptions{Services: list, Sign: signer.sign, Logger: log}
		if auth != nil {
			opts.Issuer = auth.Issuer()
		}
		if ext, err = hooks.NewExternalClient(opts); err != nil {
			return nil, nil, fmt.Errorf("--cds-services: %w", err)
		}
		if signer.local != nil {
			routes[hooks.LocalJWKSPath] = signer.local
		}
	}
	h := hooks.New(hooks.Options{
		Services: hooks.Builtin(),
		Logger:   log,
		External: ext,
		FHIRBase: fhirBase,
		Authenticate: func(r *http.Request) (context.Context, error) {
			if authenticate == nil {
				return nil, errors.New("no authentication configured")
			}
			c, err := authenticate(r)
			if err != nil {
				return nil, err
			}
			return context.WithValue(r.Context(), cdsCallerKey{}, cdsCaller{c, fhirBase(r)}), nil
		},
		Fetch: func(ctx context.Context, query string) (json.RawMessage, error) {
			cc, ok := ctx.Value(cdsCallerKey{}).(cdsCaller)
			if !ok {
				return nil, errors.New("cds: no caller in the context")
			}
			return cdsFetch(ctx, svc, cc, query)
		},
	})
	routes["/cds-services"] = h
	routes["/cds-services/"] = h
	return routes, h, nil
}

type cdsCallerKey struct{}

type cdsCaller struct {
	caller *access.Caller
	base   string
}

// cdsFetch answers one prefetch query ("Type/id" or "Type?params") as the
// caller. A resource that does not exist or that the caller may not see
// is nil; any other failure is an error (the service then answers 412).
func cdsFetch(ctx context.Context, svc *interaction.Service, cc cdsCaller, query string) (json.RawMessage, error) {
	path, rawQuery, isSearch := strings.Cut(query, "?")
	segs := strings.Split(strings.Trim(path, "/"), "/")
	req := &interaction.Request{Method: "GET", Caller: cc.caller, BaseURL: cc.base}
	switch {
	case isSearch && len(segs) == 1:
		q, err := url.ParseQuery(rawQuery)
		if err != nil {
			return nil, err
		}
		req.Kind, req.Type, req.Query = interaction.SearchType, segs[0], q
	case !isSearch && len(segs) == 2:
		req.Kind, req.Type, req.ID = interaction.Read, segs[0], segs[1]
	default:
		return nil, errors.New("cds: a prefetch template must be Type/id or Type?query")
	}
	resp, err := svc.Do(ctx, req)
	if err != nil {
		var fe *fhir.Error
		if req.Kind == interaction.Read && errors.As(err, &fe) && (fe.Status == 403 || fe.Status == 404 || fe.Status == 410) {
			return nil, nil
		}
		return nil, err
	}
	return resp.Body, nil
}
