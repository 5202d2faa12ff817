package hooks

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	_ "crypto/sha256" // registers crypto.SHA256 for the RFC 7638 thumbprint
	"encoding/json"
	"fmt"
	"net/http"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// LocalKey is a signing key the server makes at start-up for the JWTs of
// its calls to external CDS services when it has no authorisation server
// (and so no published key of its own). It signs with ES384, which CDS
// Hooks 2.0 §Trusting CDS Clients names (with RS384) as the algorithms
// services support, and serves its public key as a JWK Set; every JWT
// names that set in its jku header. A restart makes a new key.
type LocalKey struct {
	key     *ecdsa.PrivateKey
	kid     string
	jwks    []byte
	jwksURL func(iss string) string
}

// LocalJWKSPath is where the server mounts a LocalKey's JWK Set.
const LocalJWKSPath = "/cds-client/jwks"

// NewLocalKey makes a key. Its JWK Set is at iss + LocalJWKSPath.
func NewLocalKey() (*LocalKey, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, err
	}
	pub := jose.JSONWebKey{Key: &priv.PublicKey, Algorithm: string(jose.ES384), Use: "sig"}
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, err
	}
	pub.KeyID = fmt.Sprintf("%x", tp[:16])
	set, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{pub}})
	if err != nil {
		return nil, err
	}
	return &LocalKey{key: priv, kid: pub.KeyID, jwks: set,
		jwksURL: func(iss string) string { return iss + LocalJWKSPath }}, nil
}

// Sign is a SignFunc: it signs claims with header kid, typ JWT and jku
// (the JWK Set under claims["iss"]).
func (k *LocalKey) Sign(_ context.Context, claims map[string]any) (string, error) {
	iss, _ := claims["iss"].(string)
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", k.kid)
	if iss != "" {
		opts = opts.WithHeader("jku", k.jwksURL(iss))
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES384, Key: k.key}, opts)
	if err != nil {
		return "", err
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}

// ServeHTTP serves the public key as a JWK Set.
func (k *LocalKey) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "max-age=300")
	_, _ = w.Write(k.jwks)
}
