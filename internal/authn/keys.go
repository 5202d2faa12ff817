package authn

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// The server signs access tokens, id_tokens and its own authorisation
// flow state with RS256 (RSA 2048): OpenID Connect Core 1.0 section 15.1
// requires OpenID providers to support RS256 for id_tokens, and an RSA
// signature verifies faster than ECDSA, which matters because every FHIR
// request verifies one.
const (
	serverAlg     = jose.RS256
	serverKeyBits = 2048
	// keyRetention is how long a retired key stays published and keeps
	// verifying: longer than any token or flow state it signed lives
	// (at most one hour), so rotation never invalidates a live token.
	keyRetention = 2 * time.Hour
	// keyReloadEvery bounds how often an unknown kid makes a server read
	// the key table again (another instance may have rotated).
	keyReloadEvery = 5 * time.Second
	// keyRefreshEvery is how often the signing key is read again, so that
	// every process signs with a key another one rotated in within this
	// time (well inside keyRetention).
	keyRefreshEvery = time.Minute
	// DefaultKeyRotation is how old a signing key may grow before a new
	// one replaces it automatically.
	DefaultKeyRotation = 30 * 24 * time.Hour
)

type serverKey struct {
	kid     string
	priv    *rsa.PrivateKey
	created int64
	retired int64 // 0 while the key signs
	expires int64 // 0 while the key signs
}

// keyring holds the server's signing keys, loaded from auth_key.
type keyring struct {
	db          DB
	now         func() time.Time
	rotateEvery time.Duration // 0: never rotate automatically

	mu       sync.RWMutex
	keys     []serverKey // oldest first
	lastLoad time.Time
}

// load reads the published keys from the database.
func (k *keyring) load(ctx context.Context) error {
	now := k.now().Unix()
	var keys []serverKey
	err := k.db.QueryShared(ctx, "SELECT kid, private_pem, created, retired, expires FROM auth_key WHERE expires = 0 OR expires > ?", []any{now},
		func(scan func(...any) error) error {
			var sk serverKey
			var p string
			if err := scan(&sk.kid, &p, &sk.created, &sk.retired, &sk.expires); err != nil {
				return err
			}
			priv, err := parsePrivatePEM(p)
			if err != nil {
				return fmt.Errorf("auth_key %s: %w", sk.kid, err)
			}
			sk.priv = priv
			keys = append(keys, sk)
			return nil
		})
	if err != nil {
		return fmt.Errorf("authn: load keys: %w", err)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].created < keys[j].created || keys[i].created == keys[j].created && keys[i].kid < keys[j].kid
	})
	k.mu.Lock()
	k.keys, k.lastLoad = keys, k.now()
	k.mu.Unlock()
	return nil
}

// active returns the newest key that still signs.
func (k *keyring) active() (serverKey, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	for i := len(k.keys) - 1; i >= 0; i-- {
		if k.keys[i].retired == 0 {
			return k.keys[i], true
		}
	}
	return serverKey{}, false
}

// signing returns the key to sign with, creating the first key, or a
// replacement for one older than rotateEvery.
func (k *keyring) signing(ctx context.Context) (serverKey, error) {
	k.mu.RLock()
	old := k.now().Sub(k.lastLoad) >= keyRefreshEvery
	k.mu.RUnlock()
	if old {
		// Another process may have rotated: sign with its key soon. A
		// failed read keeps the keys already loaded.
		if err := k.load(ctx); err != nil {
			slog.Default().Warn("authn: reload signing keys", "err", err)
		}
	}
	sk, ok := k.active()
	stale := ok && k.rotateEvery > 0 && k.now().Unix()-sk.created >= int64(k.rotateEvery/time.Second)
	if ok && !stale {
		return sk, nil
	}
	if _, err := rotateKey(ctx, k.db, k.now(), k.rotateEvery); err != nil {
		return serverKey{}, err
	}
	if err := k.load(ctx); err != nil {
		return serverKey{}, err
	}
	if sk, ok = k.active(); !ok {
		return serverKey{}, errors.New("authn: no signing key after rotation")
	}
	return sk, nil
}

// verifier returns the public key with kid, reading the table again
// (at most every keyReloadEvery) when kid is unknown.
func (k *keyring) verifier(ctx context.Context, kid string) (*rsa.PublicKey, bool) {
	find := func() (*rsa.PublicKey, bool) {
		k.mu.RLock()
		defer k.mu.RUnlock()
		now := k.now().Unix()
		for _, sk := range k.keys {
			if sk.kid == kid && (sk.expires == 0 || sk.expires > now) {
				return &sk.priv.PublicKey, true
			}
		}
		return nil, false
	}
	if pub, ok := find(); ok {
		return pub, true
	}
	k.mu.RLock()
	recent := k.now().Sub(k.lastLoad) < keyReloadEvery
	k.mu.RUnlock()
	if recent || k.load(ctx) != nil {
		return nil, false
	}
	return find()
}

// jwks returns the published public keys.
func (k *keyring) jwks() jose.JSONWebKeySet {
	k.mu.RLock()
	defer k.mu.RUnlock()
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	now := k.now().Unix()
	for _, sk := range k.keys {
		if sk.expires == 0 || sk.expires > now {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: &sk.priv.PublicKey, KeyID: sk.kid, Algorithm: string(serverAlg), Use: "sig"})
		}
	}
	return set
}

// RotateKey makes a new signing key at once: tokens are signed with it
// from now on, while the key it replaces stays published and keeps
// verifying for keyRetention, longer than any token it signed lives. It
// returns the new key's id (its RFC 7638 thumbprint).
func RotateKey(ctx context.Context, db DB) (string, error) {
	return rotateKey(ctx, db, time.Now(), 0)
}

// rotateKey adds a signing key and retires the others, unless
// ifOlderThan > 0 and the newest signing key is younger than that (some
// other process rotated first), in which case it does nothing. A first
// key is always made when none signs.
func rotateKey(ctx context.Context, db DB, now time.Time, ifOlderThan time.Duration) (string, error) {
	priv, err := rsa.GenerateKey(rand.Reader, serverKeyBits)
	if err != nil {
		return "", err
	}
	jwk := jose.JSONWebKey{Key: &priv.PublicKey}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", err
	}
	kid := base64.RawURLEncoding.EncodeToString(tp)
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", err
	}
	p := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	t := now.Unix()
	err = write(ctx, db, func(tx sqlTx) error {
		var newest int64
		found, err := queryOne(ctx, tx, "SELECT created FROM auth_key WHERE retired = 0 ORDER BY created DESC LIMIT 1", nil, &newest)
		if err != nil {
			return err
		}
		if found && ifOlderThan > 0 && t-newest < int64(ifOlderThan/time.Second) {
			kid = ""
			return nil
		}
		if err := tx.ExecShared(ctx, "UPDATE auth_key SET retired = ?, expires = ? WHERE retired = 0", t, t+int64(keyRetention/time.Second)); err != nil {
			return err
		}
		if err := tx.ExecShared(ctx, "DELETE FROM auth_key WHERE expires > 0 AND expires < ?", t-24*3600); err != nil {
			return err
		}
		return tx.ExecShared(ctx, "INSERT INTO auth_key (kid, alg, private_pem, created, retired, expires) VALUES (?, ?, ?, ?, 0, 0)", kid, string(serverAlg), p, t)
	})
	if err != nil {
		return "", fmt.Errorf("authn: rotate key: %w", err)
	}
	return kid, nil
}

func parsePrivatePEM(p string) (*rsa.PrivateKey, error) {
	b, _ := pem.Decode([]byte(p))
	if b == nil {
		return nil, errors.New("no PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("key is %T, not RSA", k)
	}
	return rk, nil
}
