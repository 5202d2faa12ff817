package authn

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"time"

	"github.com/nhs-junction/junction/internal/access"
)

// User is a person who signs in at /auth/authorize.
type User struct {
	ID           string
	Username     string
	Kind         access.Kind // Practitioner, PatientUser, PrivacyOfficer or Admin
	Name         string
	ODS          string   // organisation ODS code (staff)
	Roles        []string // national RBAC job role codes (R-codes)
	Practitioner string   // Practitioner resource id (staff)
	Patients     []string // Patient ids a patient user acts for, their own first
	Disabled     bool
	Created      time.Time
}

// NewUser is what AddUser needs.
type NewUser struct {
	Kind         access.Kind
	Username     string
	Password     string
	Name         string
	ODS          string
	Roles        []string
	Practitioner string
	Patients     []string
}

// Client is an application registered to obtain tokens.
type Client struct {
	ID   string
	Name string
	// Kind is the Caller kind of tokens the client obtains for itself
	// (client_credentials): System unless registered otherwise.
	Kind access.Kind
	// Public clients have no credentials (SMART client-public) and must
	// use PKCE; the others authenticate with private_key_jwt using a key
	// from JWKS (inline) or JWKSURL.
	Public       bool
	JWKS         string // JSON Web Key Set (public keys), when registered inline
	JWKSURL      string
	RedirectURIs []string
	Scopes       []string // the most this client may ever be granted
	ODS          string
	Disabled     bool
	Created      time.Time
}

// NewClient is what AddClient needs: exactly one of Public, JWKS and JWKSURL.
type NewClient struct {
	Name         string
	Kind         access.Kind
	Public       bool
	JWKS         []byte
	JWKSURL      string
	RedirectURIs []string
	Scopes       []string
	ODS          string
}

var (
	usernameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$`)
	odsRE      = regexp.MustCompile(`^[A-Z0-9]{3,12}$`)
	roleRE     = regexp.MustCompile(`^R[0-9]{4}$`)
	fhirIDRE   = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)
)

// validate checks a new user and returns the first problem.
func (u NewUser) validate() error {
	switch u.Kind {
	case access.Practitioner, access.PatientUser, access.PrivacyOfficer, access.Admin:
	default:
		return fmt.Errorf("kind must be practitioner, patient, privacy-officer or admin, not %q", u.Kind)
	}
	if !usernameRE.MatchString(u.Username) {
		return fmt.Errorf("username %q: use 1 to 128 letters, digits, '.', '_', '@' or '-'", u.Username)
	}
	if err := checkPassword(u.Password); err != nil {
		return err
	}
	if u.Name == "" {
		return fmt.Errorf("a display name is required")
	}
	if u.ODS != "" && !odsRE.MatchString(u.ODS) {
		return fmt.Errorf("ODS code %q: expected 3 to 12 upper-case letters and digits", u.ODS)
	}
	for _, r := range u.Roles {
		if !roleRE.MatchString(r) {
			return fmt.Errorf("role %q: expected a national RBAC job role code such as R8000", r)
		}
	}
	if u.Practitioner != "" && !fhirIDRE.MatchString(u.Practitioner) {
		return fmt.Errorf("practitioner id %q is not a FHIR id", u.Practitioner)
	}
	for _, p := range u.Patients {
		if !fhirIDRE.MatchString(p) {
			return fmt.Errorf("patient id %q is not a FHIR id", p)
		}
	}
	switch u.Kind {
	case access.Practitioner:
		if u.ODS == "" {
			return fmt.Errorf("a practitioner needs --ods, the organisation they act for")
		}
		if len(u.Patients) > 0 {
			return fmt.Errorf("--patient is for patient users")
		}
	case access.PatientUser:
		if len(u.Patients) == 0 {
			return fmt.Errorf("a patient user needs --patient, the Patient they are")
		}
		if len(u.Roles) > 0 || u.Practitioner != "" {
			return fmt.Errorf("--role and --practitioner are for staff")
		}
	}
	return nil
}

const userColumns = "id, username, kind, name, password_hash, ods, roles, practitioner, patients, disabled, created"

// AddUser stores a new user with an argon2id hash of the password. A
// username already taken gives ErrExists.
func AddUser(ctx context.Context, db DB, nu NewUser) (User, error) {
	if err := nu.validate(); err != nil {
		return User{}, err
	}
	u := User{ID: newID(), Username: nu.Username, Kind: nu.Kind, Name: nu.Name, ODS: nu.ODS, Roles: nu.Roles,
		Practitioner: nu.Practitioner, Patients: nu.Patients, Created: time.Now().UTC().Truncate(time.Second)}
	hash := hashPassword(nu.Password)
	err := write(ctx, db, func(tx sqlTx) error {
		var n int64
		if _, err := queryOne(ctx, tx, "SELECT count(*) FROM auth_user WHERE username = ?", []any{u.Username}, &n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("user %q: %w", u.Username, ErrExists)
		}
		return tx.ExecShared(ctx, "INSERT INTO auth_user ("+userColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)",
			u.ID, u.Username, string(u.Kind), u.Name, hash, u.ODS, joinList(u.Roles), u.Practitioner, joinList(u.Patients), u.Created.Unix())
	})
	if err != nil {
		return User{}, err
	}
	return u, nil
}

func scanUser(scan func(...any) error, hash *string) (User, error) {
	var u User
	var kind, roles, patients string
	var disabled, created int64
	if hash == nil {
		hash = new(string)
	}
	if err := scan(&u.ID, &u.Username, &kind, &u.Name, hash, &u.ODS, &roles, &u.Practitioner, &patients, &disabled, &created); err != nil {
		return User{}, err
	}
	u.Kind, u.Roles, u.Patients = access.Kind(kind), splitList(roles), splitList(patients)
	u.Disabled, u.Created = disabled != 0, time.Unix(created, 0).UTC()
	return u, nil
}

// ListUsers returns every user, by username.
func ListUsers(ctx context.Context, db DB) ([]User, error) {
	var out []User
	err := db.QueryShared(ctx, "SELECT "+userColumns+" FROM auth_user ORDER BY username", nil, func(scan func(...any) error) error {
		u, err := scanUser(scan, nil)
		out = append(out, u)
		return err
	})
	return out, err
}

// lookupUser returns the user with the given column value and their hash.
func lookupUser(ctx context.Context, db DB, column, value string) (User, string, error) {
	var u User
	var hash string
	found := false
	err := db.QueryShared(ctx, "SELECT "+userColumns+" FROM auth_user WHERE "+column+" = ?", []any{value}, func(scan func(...any) error) error {
		var err error
		found = true
		u, err = scanUser(scan, &hash)
		return err
	})
	if err == nil && !found {
		err = ErrNotFound
	}
	return u, hash, err
}

// DisableUser stops a user signing in or refreshing tokens; the tokens
// they hold stop working within statusTTL. It gives ErrNotFound for an
// unknown username.
func DisableUser(ctx context.Context, db DB, username string) error {
	return setDisabled(ctx, db, "auth_user", "username", username)
}

func setDisabled(ctx context.Context, db DB, table, column, value string) error {
	return write(ctx, db, func(tx sqlTx) error {
		var id string
		found, err := queryOne(ctx, tx, "UPDATE "+table+" SET disabled = 1 WHERE "+column+" = ? RETURNING id", []any{value}, &id)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("%q: %w", value, ErrNotFound)
		}
		return nil
	})
}

// validate checks a new client and returns the first problem.
func (c NewClient) validate() error {
	if c.Name == "" {
		return fmt.Errorf("a client name is required")
	}
	n := 0
	for _, b := range []bool{c.Public, len(c.JWKS) > 0, c.JWKSURL != ""} {
		if b {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("give exactly one of --public, --jwks and --jwks-url")
	}
	switch c.Kind {
	case access.System, access.Practitioner, access.PatientUser, access.PrivacyOfficer, access.Admin:
	default:
		return fmt.Errorf("kind must be system, practitioner, patient, privacy-officer or admin, not %q", c.Kind)
	}
	if len(c.JWKS) > 0 {
		if _, err := parseClientJWKS(c.JWKS); err != nil {
			return err
		}
	}
	if c.JWKSURL != "" {
		if err := checkFetchURL(c.JWKSURL); err != nil {
			return fmt.Errorf("--jwks-url: %w", err)
		}
	}
	if c.Public && len(c.RedirectURIs) == 0 {
		return fmt.Errorf("a public client needs at least one --redirect-uri")
	}
	for _, r := range c.RedirectURIs {
		u, err := url.Parse(r)
		if err != nil || !u.IsAbs() || u.Fragment != "" {
			return fmt.Errorf("redirect URI %q: must be an absolute URI without a fragment", r)
		}
		if u.Scheme == "http" && !isLoopback(u.Hostname()) {
			return fmt.Errorf("redirect URI %q: http is allowed only on loopback; use https", r)
		}
	}
	if err := checkScopes(c.Scopes); err != nil {
		return err
	}
	if c.Public && hasContext(c.Scopes, "system") {
		return fmt.Errorf("system/ scopes need a confidential client (--jwks or --jwks-url)")
	}
	if c.ODS != "" && !odsRE.MatchString(c.ODS) {
		return fmt.Errorf("ODS code %q: expected 3 to 12 upper-case letters and digits", c.ODS)
	}
	return nil
}

const clientColumns = "id, name, kind, public, jwks, jwks_url, redirect_uris, scopes, ods, disabled, created"

// AddClient registers a client and returns it with its new id.
func AddClient(ctx context.Context, db DB, nc NewClient) (Client, error) {
	if nc.Kind == "" {
		nc.Kind = access.System
	}
	if err := nc.validate(); err != nil {
		return Client{}, err
	}
	c := Client{ID: newID(), Name: nc.Name, Kind: nc.Kind, Public: nc.Public, JWKS: string(nc.JWKS), JWKSURL: nc.JWKSURL,
		RedirectURIs: nc.RedirectURIs, Scopes: nc.Scopes, ODS: nc.ODS, Created: time.Now().UTC().Truncate(time.Second)}
	err := write(ctx, db, func(tx sqlTx) error {
		return tx.ExecShared(ctx, "INSERT INTO auth_client ("+clientColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)",
			c.ID, c.Name, string(c.Kind), boolInt(c.Public), c.JWKS, c.JWKSURL, joinList(c.RedirectURIs), joinList(c.Scopes), c.ODS, c.Created.Unix())
	})
	if err != nil {
		return Client{}, err
	}
	return c, nil
}

func scanClient(scan func(...any) error) (Client, error) {
	var c Client
	var kind, redirects, scopes string
	var public, disabled, created int64
	if err := scan(&c.ID, &c.Name, &kind, &public, &c.JWKS, &c.JWKSURL, &redirects, &scopes, &c.ODS, &disabled, &created); err != nil {
		return Client{}, err
	}
	c.Kind, c.Public, c.Disabled = access.Kind(kind), public != 0, disabled != 0
	c.RedirectURIs, c.Scopes, c.Created = splitList(redirects), splitList(scopes), time.Unix(created, 0).UTC()
	return c, nil
}

// ListClients returns every client, by name.
func ListClients(ctx context.Context, db DB) ([]Client, error) {
	var out []Client
	err := db.QueryShared(ctx, "SELECT "+clientColumns+" FROM auth_client ORDER BY name, id", nil, func(scan func(...any) error) error {
		c, err := scanClient(scan)
		out = append(out, c)
		return err
	})
	return out, err
}

// lookupClient returns the client with id, or ErrNotFound.
func lookupClient(ctx context.Context, db DB, id string) (Client, error) {
	var c Client
	found := false
	err := db.QueryShared(ctx, "SELECT "+clientColumns+" FROM auth_client WHERE id = ?", []any{id}, func(scan func(...any) error) error {
		var err error
		found = true
		c, err = scanClient(scan)
		return err
	})
	if err == nil && !found {
		err = ErrNotFound
	}
	return c, err
}

// DisableClient stops a client obtaining tokens; tokens it holds stop
// working within statusTTL. It gives ErrNotFound for an unknown id.
func DisableClient(ctx context.Context, db DB, id string) error {
	return setDisabled(ctx, db, "auth_client", "id", id)
}

// isNotFound reports whether err is ErrNotFound.
func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
