package authn

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/nhs-junction/junction/internal/access"
)

// SignAssertion returns a private_key_jwt client assertion for SMART
// Backend Services: signed by key (an RSA key gives RS384, an EC P-384
// key ES384) with its kid, iss and sub clientID, aud the token endpoint,
// a fresh jti, and exp five minutes after now.
func SignAssertion(key jose.JSONWebKey, clientID, aud string, now time.Time) (string, error) {
	var alg jose.SignatureAlgorithm
	switch k := key.Key.(type) {
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P384() {
			return "", fmt.Errorf("an EC key must be on P-384 (ES384)")
		}
		alg = jose.ES384
	default:
		if key.IsPublic() {
			return "", fmt.Errorf("the key is public; signing needs the private key")
		}
		alg = jose.RS384
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key.Key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", key.KeyID))
	if err != nil {
		return "", err
	}
	return jwt.Signed(signer).Claims(jwt.Claims{Issuer: clientID, Subject: clientID, Audience: jwt.Audience{aud},
		ID: randomToken(16), IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(MaxAssertionLifetime))}).Serialize()
}

// DemoOptions configures Demo.
type DemoOptions struct {
	// Patient is the Patient id the demo patient user is linked to, and
	// Practitioner the demo clinician's Practitioner id (both optional).
	Patient, Practitioner string
	// KeyFile is where the demo backend client's private key (a JWK) is
	// written, mode 0600. Required.
	KeyFile string
	// RedirectURI is the demo app's redirect URI (default
	// http://127.0.0.1:8765/callback: nothing needs to listen there, the
	// code can be read from the browser's address bar).
	RedirectURI string
}

// DemoUser is a demo account and its password.
type DemoUser struct {
	Username, Password string
	Kind               access.Kind
}

// DemoInfo is what Demo created and how to get a token.
type DemoInfo struct {
	Users           []DemoUser
	AppClientID     string // public client for the browser flows
	BackendClientID string // confidential ES384 client for client_credentials
	KeyFile         string
	// Instructions are printable lines: curl commands for each grant.
	Instructions string
}

// Demo creates (or refreshes) demo users with new random passwords, a
// public SMART app and a backend services client with a new ES384 key,
// and returns how to obtain a token with curl. It is for `junction serve
// --demo` on a development machine: every run gives the demo accounts new
// passwords and the backend client a new key.
func (s *Server) Demo(ctx context.Context, opt DemoOptions) (DemoInfo, error) {
	if opt.KeyFile == "" {
		return DemoInfo{}, fmt.Errorf("authn: Demo needs a KeyFile")
	}
	if opt.RedirectURI == "" {
		opt.RedirectURI = "http://127.0.0.1:8765/callback"
	}
	const ods = "X99999" // not a real organisation
	users := []NewUser{
		{Kind: access.Practitioner, Username: "demo-clinician", Name: "Dr Demo Clinician", ODS: ods, Roles: []string{"R8000"}, Practitioner: opt.Practitioner},
		{Kind: access.PrivacyOfficer, Username: "demo-privacy", Name: "Demo Privacy Officer", ODS: ods},
		{Kind: access.Admin, Username: "demo-admin", Name: "Demo Administrator"},
	}
	if opt.Patient != "" {
		users = append(users, NewUser{Kind: access.PatientUser, Username: "demo-patient", Name: "Demo Patient", Patients: []string{opt.Patient}})
	}
	var info DemoInfo
	for _, nu := range users {
		nu.Password = randomToken(12)
		if _, _, err := lookupUser(ctx, s.db, "username", nu.Username); err == nil {
			if err := setPassword(ctx, s.db, nu.Username, nu.Password); err != nil {
				return info, err
			}
		} else if !isNotFound(err) {
			return info, err
		} else if _, err := AddUser(ctx, s.db, nu); err != nil {
			return info, err
		}
		info.Users = append(info.Users, DemoUser{Username: nu.Username, Password: nu.Password, Kind: nu.Kind})
	}
	clients, err := ListClients(ctx, s.db)
	if err != nil {
		return info, err
	}
	byName := map[string]Client{}
	for _, c := range clients {
		if !c.Disabled {
			byName[c.Name] = c
		}
	}
	const appName, backendName = "Junction demo app", "Junction demo backend"
	if c, ok := byName[appName]; ok {
		info.AppClientID = c.ID
	} else {
		c, err := AddClient(ctx, s.db, NewClient{Name: appName, Public: true, RedirectURIs: []string{opt.RedirectURI},
			Scopes: strings.Fields("launch launch/patient openid fhirUser profile offline_access online_access patient/*.cruds user/*.cruds")})
		if err != nil {
			return info, err
		}
		info.AppClientID = c.ID
	}
	priv, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return info, err
	}
	kid := randomToken(8)
	pub, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &priv.PublicKey, KeyID: kid, Algorithm: "ES384", Use: "sig"}}})
	private, _ := json.MarshalIndent(jose.JSONWebKey{Key: priv, KeyID: kid, Algorithm: "ES384", Use: "sig"}, "", "  ")
	if err := os.WriteFile(opt.KeyFile, private, 0o600); err != nil {
		return info, err
	}
	info.KeyFile = opt.KeyFile
	if c, ok := byName[backendName]; ok {
		info.BackendClientID = c.ID
		err = write(ctx, s.db, func(tx sqlTx) error {
			return tx.ExecShared(ctx, "UPDATE auth_client SET jwks = ?, jwks_url = '' WHERE id = ?", string(pub), c.ID)
		})
	} else {
		var c Client
		c, err = AddClient(ctx, s.db, NewClient{Name: backendName, Kind: access.System, JWKS: pub, Scopes: []string{"system/*.cruds"}})
		info.BackendClientID = c.ID
	}
	if err != nil {
		return info, err
	}
	info.Instructions = s.demoInstructions(info, opt.RedirectURI)
	return info, nil
}

// setPassword replaces a user's password hash.
func setPassword(ctx context.Context, db DB, username, password string) error {
	if err := checkPassword(password); err != nil {
		return err
	}
	hash := hashPassword(password)
	return write(ctx, db, func(tx sqlTx) error {
		return tx.ExecShared(ctx, "UPDATE auth_user SET password_hash = ? WHERE username = ?", hash, username)
	})
}

func (s *Server) demoInstructions(info DemoInfo, redirect string) string {
	verifier := randomToken(32)
	var b strings.Builder
	fmt.Fprintf(&b, "Demo accounts (passwords change at every start):\n")
	for _, u := range info.Users {
		fmt.Fprintf(&b, "  %-16s %-16s password %s\n", u.Username, u.Kind, u.Password)
	}
	fmt.Fprintf(&b, "\nSystem token (SMART Backend Services, client %s, key %s):\n", info.BackendClientID, info.KeyFile)
	fmt.Fprintf(&b, "  ASSERTION=$(junction auth assertion --client-id %s --key %s --aud %s)\n", info.BackendClientID, info.KeyFile, s.tokenURL())
	fmt.Fprintf(&b, "  TOKEN=$(curl -s %s -d grant_type=client_credentials -d 'scope=system/*.rs' \\\n", s.tokenURL())
	fmt.Fprintf(&b, "    -d client_assertion_type=%s -d client_assertion=$ASSERTION | sed 's/.*\"access_token\":\"\\([^\"]*\\)\".*/\\1/')\n", AssertionType)
	fmt.Fprintf(&b, "  curl -H \"Authorization: Bearer $TOKEN\" %s/Patient\n", s.base)
	q := fmt.Sprintf("response_type=code&client_id=%s&redirect_uri=%s&scope=%s&state=demo&aud=%s&code_challenge=%s&code_challenge_method=S256",
		info.AppClientID, url.QueryEscape(redirect), url.QueryEscape("openid fhirUser launch/patient patient/*.rs user/*.rs offline_access"), url.QueryEscape(s.base), s256(verifier))
	fmt.Fprintf(&b, "\nUser token (authorization code with PKCE, public client %s):\n", info.AppClientID)
	fmt.Fprintf(&b, "  1. Open in a browser and sign in as demo-clinician or demo-patient:\n     %s?%s\n", s.authorizeURL(), q)
	fmt.Fprintf(&b, "  2. The browser goes to %s?code=...; copy the code, then:\n", redirect)
	fmt.Fprintf(&b, "  curl -s %s -d grant_type=authorization_code -d client_id=%s -d redirect_uri=%s \\\n    -d code_verifier=%s -d code=CODE\n",
		s.tokenURL(), info.AppClientID, redirect, verifier)
	fmt.Fprintf(&b, "  3. Refresh: curl -s %s -d grant_type=refresh_token -d client_id=%s -d refresh_token=REFRESH_TOKEN\n", s.tokenURL(), info.AppClientID)
	return b.String()
}
