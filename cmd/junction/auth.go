package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/nhs-junction/junction/internal/access"
	"github.com/nhs-junction/junction/internal/app"
	"github.com/nhs-junction/junction/internal/authn"
	"github.com/nhs-junction/junction/internal/config"
)

// listFlag is a flag that may be repeated; each value may also hold
// several space-separated items.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, " ") }

func (l *listFlag) Set(v string) error {
	*l = append(*l, strings.Fields(v)...)
	return nil
}

// openAuthDB opens the store named by the flags and returns the backend
// store the authn package works on.
func openAuthDB(ctx context.Context, cfg config.Config) (authn.DB, func(), error) {
	e, err := app.OpenStore(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	db, ok := e.Store.(authn.DB)
	if !ok {
		e.Close()
		return nil, nil, fmt.Errorf("store %T offers no SQL access", e.Store)
	}
	return db, func() { e.Close() }, nil
}

// runUser is `junction user add|list|disable`.
func runUser(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const usage = "Usage: junction user add|list|disable [flags]"
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return exitError(2)
	}
	cfg := config.Defaults()
	switch args[0] {
	case "add":
		fs := newFlagSet("user add", "junction user add --kind practitioner|patient|privacy-officer|admin --username U (--password-file F | --password-stdin) --name N [--ods CODE] [--role R8000 ...] [--practitioner ID] [--patient ID ...] [--data DIR | --database URL]",
			"Creates a user who signs in at /auth/authorize. The password is stored as an argon2id hash.\n"+
				"Prints what it created; the new user's id is alone on the last line.", stderr)
		cfg.StoreFlags(fs)
		var nu authn.NewUser
		var kind, pwFile string
		var pwStdin bool
		var roles, patients listFlag
		fs.StringVar(&kind, "kind", "", "practitioner, patient, privacy-officer or admin")
		fs.StringVar(&nu.Username, "username", "", "sign-in name")
		fs.StringVar(&pwFile, "password-file", "", "file holding the password (first line)")
		fs.BoolVar(&pwStdin, "password-stdin", false, "read the password from the first line of standard input")
		fs.StringVar(&nu.Name, "name", "", "display name")
		fs.StringVar(&nu.ODS, "ods", "", "ODS code of the organisation a member of staff acts for")
		fs.Var(&roles, "role", "national RBAC job role code (repeatable), e.g. R8000")
		fs.StringVar(&nu.Practitioner, "practitioner", "", "the staff member's Practitioner resource id")
		fs.Var(&patients, "patient", "Patient id a patient user acts for (repeatable; their own first)")
		if err := cfg.Parse(fs, args[1:]); err != nil {
			return err
		}
		if fs.NArg() > 0 {
			return fmt.Errorf("user add takes no arguments, got %q", fs.Args())
		}
		pw, err := readPassword(pwFile, pwStdin)
		if err != nil {
			return err
		}
		nu.Kind, nu.Password, nu.Roles, nu.Patients = access.Kind(kind), pw, roles, patients
		db, done, err := openAuthDB(ctx, cfg)
		if err != nil {
			return err
		}
		defer done()
		u, err := authn.AddUser(ctx, db, nu)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created %s user %s (%s)", u.Kind, u.Username, u.Name)
		if u.ODS != "" {
			fmt.Fprintf(stdout, " for %s", u.ODS)
		}
		if len(u.Roles) > 0 {
			fmt.Fprintf(stdout, " with roles %s", strings.Join(u.Roles, " "))
		}
		if len(u.Patients) > 0 {
			fmt.Fprintf(stdout, " acting for Patient %s", strings.Join(u.Patients, ", "))
		}
		fmt.Fprintf(stdout, "\n%s\n", u.ID)
		return nil
	case "list":
		fs := newFlagSet("user list", "junction user list [--data DIR | --database URL]", "Lists users.", stderr)
		cfg.StoreFlags(fs)
		if err := cfg.Parse(fs, args[1:]); err != nil {
			return err
		}
		db, done, err := openAuthDB(ctx, cfg)
		if err != nil {
			return err
		}
		defer done()
		users, err := authn.ListUsers(ctx, db)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tUSERNAME\tKIND\tNAME\tODS\tROLES\tPATIENTS\tSTATE")
		for _, u := range users {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Username, u.Kind, u.Name, u.ODS, strings.Join(u.Roles, " "), strings.Join(u.Patients, " "), state(u.Disabled))
		}
		return tw.Flush()
	case "disable":
		fs := newFlagSet("user disable", "junction user disable [--data DIR | --database URL] USERNAME",
			"Stops a user signing in or refreshing; tokens they hold stop working within 30 seconds.", stderr)
		cfg.StoreFlags(fs)
		if err := cfg.Parse(fs, args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			fs.Usage()
			return exitError(2)
		}
		db, done, err := openAuthDB(ctx, cfg)
		if err != nil {
			return err
		}
		defer done()
		if err := authn.DisableUser(ctx, db, fs.Arg(0)); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "disabled user %s\n", fs.Arg(0))
		return nil
	}
	fmt.Fprintln(stderr, usage)
	return exitError(2)
}

func state(disabled bool) string {
	if disabled {
		return "disabled"
	}
	return "active"
}

// readPassword reads the first line of a file or of standard input.
func readPassword(file string, stdin bool) (string, error) {
	var r io.Reader
	switch {
	case file != "" && stdin:
		return "", errors.New("give --password-file or --password-stdin, not both")
	case file != "":
		f, err := os.Open(file)
		if err != nil {
			return "", err
		}
		defer f.Close()
		r = f
	case stdin:
		r = os.Stdin
	default:
		return "", errors.New("a password is required: --password-file F or --password-stdin")
	}
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// runClient is `junction client add|list|disable`.
func runClient(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const usage = "Usage: junction client add|list|disable [flags]"
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return exitError(2)
	}
	cfg := config.Defaults()
	switch args[0] {
	case "add":
		fs := newFlagSet("client add", "junction client add --name N (--jwks FILE | --jwks-url URL | --public --redirect-uri URI ...) --scope \"system/Patient.rs ...\" [--kind system|practitioner|patient|privacy-officer|admin] [--ods CODE] [--redirect-uri URI ...] [--data DIR | --database URL]",
			"Registers an OAuth client. A confidential client authenticates with private_key_jwt (RS384 or ES384)\n"+
				"using a public key from --jwks or --jwks-url; a public client (--public) uses PKCE and must have a\n"+
				"redirect URI. The client is never granted more than --scope. Prints what it created; the new\n"+
				"client's id is alone on the last line.", stderr)
		cfg.StoreFlags(fs)
		var nc authn.NewClient
		var kind, jwksFile string
		var scopes, redirects listFlag
		fs.StringVar(&nc.Name, "name", "", "client name shown on the consent page")
		fs.StringVar(&jwksFile, "jwks", "", "file holding the client's JSON Web Key Set (public keys)")
		fs.StringVar(&nc.JWKSURL, "jwks-url", "", "https URL of the client's JWKS (http allowed on loopback)")
		fs.BoolVar(&nc.Public, "public", false, "a public client (no credentials; PKCE)")
		fs.Var(&redirects, "redirect-uri", "redirect URI (repeatable)")
		fs.Var(&scopes, "scope", "scopes the client may be granted (space-separated, repeatable)")
		fs.StringVar(&kind, "kind", "system", "caller kind of the client's own tokens (client_credentials)")
		fs.StringVar(&nc.ODS, "ods", "", "ODS code of the organisation the client belongs to")
		if err := cfg.Parse(fs, args[1:]); err != nil {
			return err
		}
		if fs.NArg() > 0 {
			return fmt.Errorf("client add takes no arguments, got %q", fs.Args())
		}
		if jwksFile != "" {
			b, err := os.ReadFile(jwksFile)
			if err != nil {
				return err
			}
			nc.JWKS = b
		}
		nc.Kind, nc.Scopes, nc.RedirectURIs = access.Kind(kind), scopes, redirects
		db, done, err := openAuthDB(ctx, cfg)
		if err != nil {
			return err
		}
		defer done()
		c, err := authn.AddClient(ctx, db, nc)
		if err != nil {
			return err
		}
		how := "public (PKCE)"
		if c.JWKS != "" {
			how = "private_key_jwt with an inline JWKS"
		} else if c.JWKSURL != "" {
			how = "private_key_jwt with keys at " + c.JWKSURL
		}
		fmt.Fprintf(stdout, "created client %q (%s), %s, scopes %s\n%s\n", c.Name, c.Kind, how, strings.Join(c.Scopes, " "), c.ID)
		return nil
	case "list":
		fs := newFlagSet("client list", "junction client list [--data DIR | --database URL]", "Lists clients.", stderr)
		cfg.StoreFlags(fs)
		if err := cfg.Parse(fs, args[1:]); err != nil {
			return err
		}
		db, done, err := openAuthDB(ctx, cfg)
		if err != nil {
			return err
		}
		defer done()
		clients, err := authn.ListClients(ctx, db)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tKIND\tTYPE\tSCOPES\tSTATE")
		for _, c := range clients {
			typ := "confidential"
			if c.Public {
				typ = "public"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Name, c.Kind, typ, strings.Join(c.Scopes, " "), state(c.Disabled))
		}
		return tw.Flush()
	case "disable":
		fs := newFlagSet("client disable", "junction client disable [--data DIR | --database URL] CLIENT_ID",
			"Stops a client obtaining tokens; tokens it holds stop working within 30 seconds.", stderr)
		cfg.StoreFlags(fs)
		if err := cfg.Parse(fs, args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			fs.Usage()
			return exitError(2)
		}
		db, done, err := openAuthDB(ctx, cfg)
		if err != nil {
			return err
		}
		defer done()
		if err := authn.DisableClient(ctx, db, fs.Arg(0)); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "disabled client %s\n", fs.Arg(0))
		return nil
	}
	fmt.Fprintln(stderr, usage)
	return exitError(2)
}

// runAuth is `junction auth rotate-key|assertion`.
func runAuth(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const usage = "Usage: junction auth rotate-key|assertion [flags]"
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return exitError(2)
	}
	switch args[0] {
	case "rotate-key":
		cfg := config.Defaults()
		fs := newFlagSet("auth rotate-key", "junction auth rotate-key [--data DIR | --database URL]",
			"Makes a new token signing key. New tokens are signed with it (running servers pick it up within a\n"+
				"minute); the old key stays published and keeps verifying for two hours, longer than any token lives.", stderr)
		cfg.StoreFlags(fs)
		if err := cfg.Parse(fs, args[1:]); err != nil {
			return err
		}
		db, done, err := openAuthDB(ctx, cfg)
		if err != nil {
			return err
		}
		defer done()
		kid, err := authn.RotateKey(ctx, db)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "new signing key\n%s\n", kid)
		return nil
	case "assertion":
		fs := flag.NewFlagSet("auth assertion", flag.ContinueOnError)
		fs.SetOutput(stderr)
		var clientID, keyFile, aud string
		fs.StringVar(&clientID, "client-id", "", "the client's id")
		fs.StringVar(&keyFile, "key", "", "file holding the client's private JWK (EC P-384 or RSA)")
		fs.StringVar(&aud, "aud", "", "the token endpoint URL")
		fs.Usage = func() {
			fmt.Fprintf(stderr, "Usage: junction auth assertion --client-id ID --key FILE --aud TOKEN_URL\n\n"+
				"Prints a SMART Backend Services client assertion (RFC 7523), valid for five minutes, for\n"+
				"client_assertion in a client_credentials token request.\n\n")
			fs.PrintDefaults()
		}
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if clientID == "" || keyFile == "" || aud == "" {
			fs.Usage()
			return exitError(2)
		}
		b, err := os.ReadFile(keyFile)
		if err != nil {
			return err
		}
		var key jose.JSONWebKey
		if err := json.Unmarshal(b, &key); err != nil {
			return fmt.Errorf("%s: %w", keyFile, err)
		}
		a, err := authn.SignAssertion(key, clientID, aud, time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, a)
		return nil
	}
	fmt.Fprintln(stderr, usage)
	return exitError(2)
}
