package hooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ExternalConfig names one external CDS service provider the server
// calls as a CDS client (CDS Hooks 2.0 §Discovery, §Calling a CDS
// Service). The file given to `junction serve --cds-services FILE` is
// {"services": [ExternalConfig, ...]}.
type ExternalConfig struct {
	// Name labels the provider in logs and in the card stating its
	// absence.
	Name string `json:"name"`
	// Discovery is the provider's discovery endpoint, ending in
	// /cds-services; its services are at Discovery + "/" + id.
	Discovery string `json:"discovery"`
	// Timeout bounds one call (Go duration, such as "2s"): discovery, a
	// service call, or feedback. Default 2s, at most 30s.
	Timeout string `json:"timeout,omitempty"`
}

// DefaultExternalTimeout is how long a call to an external service may
// take when its configuration does not say: a hook's cards are shown
// while the user works (CDS Hooks 2.0 §Performance: services should
// answer in 500 ms), so a slow service is left out rather than waited on.
const DefaultExternalTimeout = 2 * time.Second

// LoadExternalConfig reads the external services file.
func LoadExternalConfig(path string) ([]ExternalConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f struct {
		Services []ExternalConfig `json:"services"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f.Services, nil
}

// SignFunc signs the claims of a JWT with the server's key (header kid
// naming the key in the server's published JWKS).
type SignFunc func(ctx context.Context, claims map[string]any) (string, error)

// ExternalOptions configure an ExternalClient.
type ExternalOptions struct {
	Services []ExternalConfig
	// Sign signs the JWT of every call (CDS Hooks 2.0 §Trusting CDS
	// Clients). Required.
	Sign SignFunc
	// Issuer is the iss of the JWTs, the server's base URL; empty: the
	// origin of the FHIR base of the request being served.
	Issuer     string
	HTTPClient *http.Client
	Now        func() time.Time
	Logger     *slog.Logger
}

// ExternalClient calls the external CDS services for the aggregate
// services of the Handler.
type ExternalClient struct {
	opts      ExternalOptions
	providers []*provider
	lastIss   atomic.Value // string: the iss of the latest call, for feedback
}

type provider struct {
	cfg     ExternalConfig
	timeout time.Duration

	mu       sync.Mutex
	services []Definition
	fetched  time.Time // of the last discovery attempt
	err      error     // of the last discovery attempt
}

// Discovery is read again after rediscoverAfter, and after a failure at
// most every retryDiscoveryAfter.
const (
	rediscoverAfter     = 10 * time.Minute
	retryDiscoveryAfter = 30 * time.Second
	maxExternalBody     = 1 << 20
)

// NewExternalClient checks the configuration: every provider needs a
// unique name and an https discovery URL (http only on a loopback
// address, for tests and local development).
func NewExternalClient(opts ExternalOptions) (*ExternalClient, error) {
	if opts.Sign == nil {
		return nil, errors.New("hooks: external CDS services need a signing key")
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	c := &ExternalClient{opts: opts}
	names := map[string]bool{}
	for i, s := range opts.Services {
		if s.Name == "" || names[s.Name] {
			return nil, fmt.Errorf("external CDS service %d: a unique name is required", i+1)
		}
		names[s.Name] = true
		u, err := url.Parse(s.Discovery)
		if err != nil || u.Host == "" || !(u.Scheme == "https" || u.Scheme == "http" && isLoopback(u.Hostname())) {
			return nil, fmt.Errorf("external CDS service %s: discovery must be an https URL (http only on a loopback address)", s.Name)
		}
		if !strings.HasSuffix(strings.TrimSuffix(u.Path, "/"), "/cds-services") {
			return nil, fmt.Errorf("external CDS service %s: discovery must end in /cds-services (CDS Hooks 2.0 §Discovery)", s.Name)
		}
		p := &provider{cfg: s, timeout: DefaultExternalTimeout}
		p.cfg.Discovery = strings.TrimSuffix(s.Discovery, "/")
		if s.Timeout != "" {
			d, err := time.ParseDuration(s.Timeout)
			if err != nil || d <= 0 || d > 30*time.Second {
				return nil, fmt.Errorf("external CDS service %s: timeout must be a duration up to 30s", s.Name)
			}
			p.timeout = d
		}
		c.providers = append(c.providers, p)
	}
	return c, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// issuer is the iss of a call made while serving a request on base.
func (c *ExternalClient) issuer(fhirBase string) string {
	if c.opts.Issuer != "" {
		return strings.TrimSuffix(c.opts.Issuer, "/")
	}
	if u, err := url.Parse(fhirBase); err == nil && u.Host != "" {
		return u.Scheme + "://" + u.Host
	}
	return fhirBase
}

// bearer returns a JWT for a call to aud (CDS Hooks 2.0 §Trusting CDS
// Clients: iss, aud, exp at most five minutes on, iat, jti).
func (c *ExternalClient) bearer(ctx context.Context, iss, aud string) (string, error) {
	now := c.opts.Now()
	return c.opts.Sign(ctx, map[string]any{"iss": iss, "aud": aud, "iat": now.Unix(),
		"exp": now.Add(5 * time.Minute).Unix(), "jti": newUUID()})
}

// do sends one JSON request with the JWT and decodes a 200 JSON answer
// into out (out nil: the body is discarded).
func (c *ExternalClient) do(ctx context.Context, p *provider, method, endpoint, iss string, body, out any) error {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, endpoint, rd)
	if err != nil {
		return err
	}
	tok, err := c.bearer(ctx, iss, endpoint)
	if err != nil {
		return &callError{"the server could not sign its request", err}
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.opts.HTTPClient.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("no answer within %s", p.timeout)
		}
		return &callError{"unreachable", err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxExternalBody+1))
	if err != nil {
		return &callError{"the answer was cut off", err}
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	if len(raw) > maxExternalBody {
		return fmt.Errorf("answer larger than %d bytes", maxExternalBody)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return &callError{"malformed answer: not JSON", err}
	}
	return nil
}

// discover returns the provider's services, reading its discovery
// endpoint when the copy is old or missing.
func (c *ExternalClient) discover(ctx context.Context, p *provider, iss string) ([]Definition, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := c.opts.Now()
	fresh := p.err == nil && !p.fetched.IsZero() && now.Sub(p.fetched) < rediscoverAfter
	recentFail := p.err != nil && now.Sub(p.fetched) < retryDiscoveryAfter
	if fresh || recentFail {
		return p.services, p.err
	}
	var out struct {
		Services []Definition `json:"services"`
	}
	err := c.do(ctx, p, http.MethodGet, p.cfg.Discovery, iss, nil, &out)
	if err == nil {
		for _, s := range out.Services {
			if s.ID == "" || !idPattern.MatchString(s.ID) || s.Hook == "" {
				err = fmt.Errorf("discovery lists a service without a usable id or hook")
				break
			}
		}
	}
	p.fetched, p.err = now, err
	if err == nil {
		p.services = out.Services
	} else if p.services != nil {
		// The services found before still answer for the hooks they
		// declared; the failure is logged.
		c.opts.Logger.Warn("external CDS discovery failed; using the services found before", "provider", p.cfg.Name, "err", err)
		return p.services, nil
	}
	return p.services, err
}

// Call calls every external service registered for d.Hook, concurrently,
// and returns their cards plus, for each provider that failed, a card
// stating its advice is missing. origin maps each card's uuid to
// "provider/service" for feedback. A failure never fails the call.
func (c *ExternalClient) Call(ctx context.Context, h *Handler, req *Request, d Data) (cards []Card, origin map[string]string) {
	iss := c.issuer(d.FHIRBase)
	c.lastIss.Store(iss)
	var mu sync.Mutex
	var wg sync.WaitGroup
	origin = map[string]string{}
	add := func(cs []Card, from string) {
		mu.Lock()
		defer mu.Unlock()
		for _, card := range cs {
			if from != "" {
				origin[card.UUID] = from
			}
			cards = append(cards, card)
		}
	}
	for _, p := range c.providers {
		wg.Add(1)
		go func(p *provider) {
			defer wg.Done()
			defs, err := c.discover(ctx, p, iss)
			if err != nil {
				c.opts.Logger.Warn("external CDS discovery failed", "provider", p.cfg.Name, "err", err)
				add([]Card{absentCard(p.cfg.Name, "its list of services could not be read ("+publicReason(err)+")")}, "")
				return
			}
			for _, def := range defs {
				if def.Hook != d.Hook {
					continue
				}
				wg.Add(1)
				go func(def Definition) {
					defer wg.Done()
					name := p.cfg.Name + " " + def.ID
					cs, err := c.callOne(ctx, h, p, def, req, d, iss)
					if err != nil {
						c.opts.Logger.Warn("external CDS service failed", "provider", p.cfg.Name, "service", def.ID, "err", err)
						add([]Card{absentCard(name, publicReason(err))}, "")
						return
					}
					add(cs, p.cfg.Name+"/"+def.ID)
				}(def)
			}
		}(p)
	}
	wg.Wait()
	return cards, origin
}

// callOne resolves the service's prefetch as the caller (so it sees no
// more than the user may), calls it, and checks its cards.
func (c *ExternalClient) callOne(ctx context.Context, h *Handler, p *provider, def Definition, req *Request, d Data, iss string) ([]Card, error) {
	d.Prefetch = nil
	if err := h.resolvePrefetch(ctx, def.Prefetch, nil, &d); err != nil {
		return nil, &callError{"its prefetch could not be read", err}
	}
	body := map[string]any{"hook": req.Hook, "hookInstance": req.HookInstance, "context": req.Context}
	if d.FHIRBase != "" {
		body["fhirServer"] = d.FHIRBase
	}
	if len(d.Prefetch) > 0 {
		body["prefetch"] = d.Prefetch
	}
	var out struct {
		Cards *[]Card `json:"cards"`
	}
	if err := c.do(ctx, p, http.MethodPost, p.cfg.Discovery+"/"+def.ID, iss, body, &out); err != nil {
		return nil, err
	}
	if out.Cards == nil {
		return nil, errors.New("malformed answer: no cards array")
	}
	cs := *out.Cards
	for i := range cs {
		if err := checkCard(cs[i]); err != nil {
			// One bad card makes the whole answer suspect: it is left
			// out and its absence stated.
			return nil, fmt.Errorf("malformed answer: card %d: %v", i, err)
		}
		if cs[i].UUID == "" {
			cs[i].UUID = newUUID()
		}
	}
	return cs, nil
}

// callError is a failure whose Public text may be shown on the card
// stating the service's absence; the wrapped detail goes to the log only
// (it may hold addresses and library messages).
type callError struct {
	Public string
	err    error
}

func (e *callError) Error() string { return e.Public + ": " + e.err.Error() }
func (e *callError) Unwrap() error { return e.err }

// publicReason is the text of err fit for a card.
func publicReason(err error) string {
	var ce *callError
	if errors.As(err, &ce) {
		return ce.Public
	}
	return err.Error()
}

// checkCard checks the required attributes of a card (CDS Hooks 2.0
// §Card Attributes).
func checkCard(c Card) error {
	switch {
	case strings.TrimSpace(c.Summary) == "":
		return errors.New("no summary")
	case len([]rune(c.Summary)) >= 140:
		return errors.New("summary of 140 characters or more")
	case c.Indicator != "info" && c.Indicator != "warning" && c.Indicator != "critical":
		return fmt.Errorf("indicator %q", clip(c.Indicator))
	case strings.TrimSpace(c.Source.Label) == "":
		return errors.New("no source.label")
	}
	for _, s := range c.Suggestions {
		for _, a := range s.Actions {
			if a.Type != "create" && a.Type != "update" && a.Type != "delete" {
				return fmt.Errorf("suggestion action type %q", clip(a.Type))
			}
		}
	}
	for _, l := range c.Links {
		if l.Type != "absolute" && l.Type != "smart" {
			return fmt.Errorf("link type %q", clip(l.Type))
		}
		if u, err := url.Parse(l.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") {
			return errors.New("a link is not an http(s) URL")
		}
	}
	return nil
}

// forwardFeedback passes feedback on a card to the external service that
// made it, in the background; a failure is logged.
func (c *ExternalClient) forwardFeedback(ctx context.Context, origin string, f FeedbackEntry) {
	name, id, _ := strings.Cut(origin, "/")
	for _, p := range c.providers {
		if p.cfg.Name != name {
			continue
		}
		iss, _ := c.lastIss.Load().(string)
		go func() {
			err := c.do(ctx, p, http.MethodPost, p.cfg.Discovery+"/"+id+"/feedback", iss, map[string]any{"feedback": []FeedbackEntry{f}}, nil)
			if err != nil {
				c.opts.Logger.Warn("forwarding CDS feedback failed", "provider", name, "service", id, "err", err)
			}
		}()
	}
}
