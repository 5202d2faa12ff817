package authn

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Client assertions are signed with RS384 or ES384, the two algorithms
// SMART App Launch 2.x (client-confidential-asymmetric) requires servers
// to support; nothing else is accepted.
var assertionAlgs = []jose.SignatureAlgorithm{jose.RS384, jose.ES384}

const (
	// jwksTTL is how long a fetched JWKS is used before it is fetched again.
	jwksTTL = 5 * time.Minute
	// jwksRefetchAfter bounds how often an unknown kid forces a fetch,
	// so that a stream of bad assertions cannot make the server hammer a
	// client's JWKS URL.
	jwksRefetchAfter = 30 * time.Second
	// jwksMaxBytes bounds a fetched JWKS document.
	jwksMaxBytes = 256 << 10
)

// isLoopback reports whether host names this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkFetchURL accepts https URLs, and http URLs on loopback (tests and
// local development).
func checkFetchURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL", raw)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		return fmt.Errorf("%q: use https (http only on loopback)", raw)
	}
	return nil
}

// parseClientJWKS reads a JSON Web Key Set of public signing keys. Every
// key must carry a kid, be public (a private key sent by mistake is
// refused, so it is never stored), and be usable with RS384 (RSA of at
// least 2048 bits) or ES384 (EC P-384).
func parseClientJWKS(data []byte) (jose.JSONWebKeySet, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(data, &set); err != nil {
		return set, fmt.Errorf("JWKS: %v", err)
	}
	if len(set.Keys) == 0 {
		return set, errors.New("JWKS: no keys")
	}
	for i, k := range set.Keys {
		if k.KeyID == "" {
			return set, fmt.Errorf("JWKS key %d: no kid", i)
		}
		if !k.IsPublic() {
			return set, fmt.Errorf("JWKS key %q: a private key; register the public key only", k.KeyID)
		}
		if keyAlg(k) == "" {
			return set, fmt.Errorf("JWKS key %q: need an RSA key of at least 2048 bits (RS384) or an EC P-384 key (ES384)", k.KeyID)
		}
	}
	return set, nil
}

// keyAlg returns the assertion algorithm key k serves, or "" when none.
func keyAlg(k jose.JSONWebKey) jose.SignatureAlgorithm {
	if k.Use != "" && k.Use != "sig" {
		return ""
	}
	var alg jose.SignatureAlgorithm
	switch pub := k.Key.(type) {
	case *rsa.PublicKey:
		if pub.N.BitLen() >= 2048 {
			alg = jose.RS384
		}
	case *ecdsa.PublicKey:
		if pub.Curve == elliptic.P384() {
			alg = jose.ES384
		}
	}
	if k.Algorithm != "" && k.Algorithm != string(alg) {
		return ""
	}
	return alg
}

// pickKey returns the key of set with kid that serves alg.
func pickKey(set jose.JSONWebKeySet, kid string, alg string) (any, bool) {
	for _, k := range set.Key(kid) {
		if string(keyAlg(k)) == alg {
			return k.Key, true
		}
	}
	return nil, false
}

// jwksCache fetches JWKS documents by URL and keeps them for jwksTTL.
type jwksCache struct {
	client *http.Client
	now    func() time.Time

	mu      sync.Mutex
	entries map[string]*jwksEntry
}

type jwksEntry struct {
	mu      sync.Mutex // one fetch at a time per URL
	set     jose.JSONWebKeySet
	fetched time.Time
	ok      bool
}

// get returns the key set at u, from the cache when it is fresh. With
// refresh (a kid was not found) it fetches again if the cached copy is
// older than jwksRefetchAfter.
func (c *jwksCache) get(ctx context.Context, u string, refresh bool, parse func([]byte) (jose.JSONWebKeySet, error)) (jose.JSONWebKeySet, error) {
	if err := checkFetchURL(u); err != nil {
		return jose.JSONWebKeySet{}, err
	}
	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[string]*jwksEntry{}
	}
	e := c.entries[u]
	if e == nil {
		e = &jwksEntry{}
		c.entries[u] = e
	}
	c.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	age := c.now().Sub(e.fetched)
	if e.ok && age < jwksTTL && (!refresh || age < jwksRefetchAfter) {
		return e.set, nil
	}
	set, err := c.fetch(ctx, u, parse)
	if err != nil {
		if e.ok && age < jwksTTL {
			return e.set, nil // keep serving the copy we have
		}
		return jose.JSONWebKeySet{}, err
	}
	e.set, e.fetched, e.ok = set, c.now(), true
	return set, nil
}

func (c *jwksCache) fetch(ctx context.Context, u string, parse func([]byte) (jose.JSONWebKeySet, error)) (jose.JSONWebKeySet, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return jose.JSONWebKeySet{}, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return jose.JSONWebKeySet{}, fmt.Errorf("fetch JWKS %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return jose.JSONWebKeySet{}, fmt.Errorf("fetch JWKS %s: HTTP %d", u, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, jwksMaxBytes+1))
	if err != nil {
		return jose.JSONWebKeySet{}, fmt.Errorf("fetch JWKS %s: %w", u, err)
	}
	if len(body) > jwksMaxBytes {
		return jose.JSONWebKeySet{}, fmt.Errorf("fetch JWKS %s: larger than %d bytes", u, jwksMaxBytes)
	}
	return parse(body)
}

// parseAnyJWKS reads a JWKS published by an external identity provider,
// keeping only public signing keys.
func parseAnyJWKS(data []byte) (jose.JSONWebKeySet, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(data, &set); err != nil {
		return set, fmt.Errorf("JWKS: %v", err)
	}
	keys := set.Keys[:0]
	for _, k := range set.Keys {
		if k.IsPublic() && (k.Use == "" || k.Use == "sig") && !strings.HasPrefix(k.Algorithm, "HS") {
			keys = append(keys, k)
		}
	}
	set.Keys = keys
	return set, nil
}
