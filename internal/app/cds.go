package app

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/nhs-junction/junction/internal/access"
	"github.com/nhs-junction/junction/internal/cds/hooks"
	"github.com/nhs-junction/junction/internal/cds/news2obs"
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

// withCDSHooks adds the CDS Hooks endpoints (/cds-services) to routes.
// Service calls and feedback are authenticated as FHIR requests are, and
// the prefetch queries a client leaves unfilled are answered through the
// interaction service as that caller, so a card shows only what the
// caller may see.
func withCDSHooks(routes map[string]http.Handler, svc *interaction.Service, authenticate func(*http.Request) (*access.Caller, error), base string, log *slog.Logger) map[string]http.Handler {
	if routes == nil {
		routes = map[string]http.Handler{}
	}
	h := hooks.New(hooks.Options{
		Services: hooks.Builtin(),
		Logger:   log,
		Authenticate: func(r *http.Request) (context.Context, error) {
			if authenticate == nil {
				return nil, errors.New("no authentication configured")
			}
			c, err := authenticate(r)
			if err != nil {
				return nil, err
			}
			b := base
			if b == "" {
				scheme := "http"
				if r.TLS != nil {
					scheme = "https"
				}
				b = scheme + "://" + r.Host + "/fhir"
			}
			return context.WithValue(r.Context(), cdsCallerKey{}, cdsCaller{c, b}), nil
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
	return routes
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
