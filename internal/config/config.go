// Package config holds Junction's one Config struct and fills it from
// command-line flags, then JUNCTION_* environment variables, then defaults.
package config

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

// Config is every setting of every command. Packages receive the values
// they need, never the Config.
type Config struct {
	Addr            string        // serve: listen address
	Data            string        // embedded database directory
	Database        string        // PostgreSQL URL; overrides Data
	Demo            bool          // serve: load demo patients on first start
	BaseURL         string        // serve: public FHIR base URL
	MaxBodyBytes    int64         // serve: request body limit
	Validation      string        // off | base | strict
	LogLevel        string        // debug | info | warn | error
	LogFormat       string        // text | json
	ShutdownTimeout time.Duration // serve: grace period for in-flight requests
	Auth            string        // serve: on (a token on every request) | off (development, loopback only)
	AccessPolicy    string        // serve: role policy file; "" for the built-in baseline
	MLLP            string        // serve: HL7 v2 MLLP listen address; empty: no listener
	MLLPTLSCert     string        // serve: PEM certificate for MLLP over TLS
	MLLPTLSKey      string        // serve: PEM private key for MLLP over TLS
	HL7Mapping      string        // serve, hl7 replay: HL7 v2 mapping file (JSON)
	Audit           string        // on (record every access as AuditEvents) | off (benchmarks and development only)
	CDSServices     string        // serve: JSON file of external CDS services to call; empty: none
	ImagingModel    string        // serve: URL of the imaging triage model service; empty: no AI triage
	ImagingTimeout  time.Duration // serve: how long one call to the imaging model may take
}

// Defaults returns the settings used when neither a flag nor the
// environment gives one.
func Defaults() Config {
	return Config{
		Addr:            "127.0.0.1:8080",
		Data:            "./junction-data",
		MaxBodyBytes:    64 << 20,
		Validation:      "base",
		LogLevel:        "info",
		LogFormat:       "text",
		ShutdownTimeout: 30 * time.Second,
		Auth:            "on",
		Audit:           "on",
		ImagingTimeout:  10 * time.Second,
	}
}

// StoreFlags registers the flags that choose a database.
func (c *Config) StoreFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Data, "data", c.Data, "directory of the embedded SQLite database")
	fs.StringVar(&c.Database, "database", c.Database, "PostgreSQL URL (postgres://user:pass@host:5432/db); overrides --data")
}

// LogFlags registers the logging flags.
func (c *Config) LogFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "log level: debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "log format: text or json")
}

// ServeFlags registers the flags of `junction serve`.
func (c *Config) ServeFlags(fs *flag.FlagSet) {
	c.StoreFlags(fs)
	c.LogFlags(fs)
	fs.StringVar(&c.Addr, "addr", c.Addr, "HOST:PORT to listen on")
	fs.BoolVar(&c.Demo, "demo", c.Demo, "load a small synthetic UK population when the database is empty")
	fs.StringVar(&c.BaseURL, "base-url", c.BaseURL, "public FHIR base URL used in links (default: from each request's Host)")
	fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", c.MaxBodyBytes, "largest request body accepted, in bytes (larger: 413)")
	fs.StringVar(&c.Validation, "validation", c.Validation, "validation on write: off, base (refuse what breaks the R4 specification) or strict (also refuse claimed profiles the server does not hold)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "how long shutdown waits for in-flight requests")
	fs.StringVar(&c.Auth, "auth", c.Auth, "on: every FHIR request needs an access token; off: every caller may do everything (local development only: refused unless --addr is a loopback address)")
	fs.StringVar(&c.AccessPolicy, "access-policy", c.AccessPolicy, "JSON file mapping national RBAC job roles to activities (default: the built-in baseline)")
	fs.StringVar(&c.MLLP, "mllp", c.MLLP, "HOST:PORT to receive HL7 v2 messages on over MLLP (default: no listener)")
	fs.StringVar(&c.MLLPTLSCert, "mllp-tls-cert", c.MLLPTLSCert, "PEM certificate file: the MLLP listener speaks TLS (with --mllp-tls-key)")
	fs.StringVar(&c.MLLPTLSKey, "mllp-tls-key", c.MLLPTLSKey, "PEM private key file of --mllp-tls-cert")
	fs.StringVar(&c.Audit, "audit", c.Audit, "on: every access is recorded as AuditEvents in the transparency log before it is answered; off: nothing is recorded (benchmarks and development only)")
	fs.StringVar(&c.CDSServices, "cds-services", c.CDSServices, "JSON file of external CDS Hooks services the server calls and merges into its junction-all-<hook> services (README, Clinical services)")
	fs.StringVar(&c.ImagingModel, "imaging-model", c.ImagingModel, "URL of the imaging triage model service (README, Imaging triage); empty: no AI triage")
	fs.DurationVar(&c.ImagingTimeout, "imaging-model-timeout", c.ImagingTimeout, "how long one call to the imaging model may take (three attempts are made for a timeout or a 5xx)")
	fs.StringVar(&c.HL7Mapping, "hl7-mapping", c.HL7Mapping, "HL7 v2 mapping file (JSON): per sending facility, local identifier systems, code systems, ODS code")
}

// EnvName is the environment variable that sets a flag: JUNCTION_ and the
// flag name in upper case with - as _ (--max-body-bytes: JUNCTION_MAX_BODY_BYTES).
func EnvName(flagName string) string {
	return "JUNCTION_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Parse parses args into fs, then applies JUNCTION_* environment variables
// to every flag not given on the command line, then validates c.
func (c *Config) Parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] {
			return
		}
		if v, ok := os.LookupEnv(EnvName(f.Name)); ok {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %v", EnvName(f.Name), v, err))
			}
		}
	})
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return c.Validate()
}

// Validate checks the settings once, so later code can trust them.
func (c *Config) Validate() error {
	switch c.Validation {
	case "off", "base", "strict":
	default:
		return fmt.Errorf("--validation must be off, base or strict, not %q", c.Validation)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("--log-level must be debug, info, warn or error, not %q", c.LogLevel)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return fmt.Errorf("--log-format must be text or json, not %q", c.LogFormat)
	}
	switch c.Auth {
	case "on", "off":
	default:
		return fmt.Errorf("--auth must be on or off, not %q", c.Auth)
	}
	switch c.Audit {
	case "", "on", "off":
	default:
		return fmt.Errorf("--audit must be on or off, not %q", c.Audit)
	}
	if c.MaxBodyBytes < 1024 {
		return fmt.Errorf("--max-body-bytes must be at least 1024")
	}
	if c.Database != "" && !strings.HasPrefix(c.Database, "postgres://") && !strings.HasPrefix(c.Database, "postgresql://") {
		return fmt.Errorf("--database must be a postgres:// URL")
	}
	if (c.MLLPTLSCert == "") != (c.MLLPTLSKey == "") {
		return fmt.Errorf("--mllp-tls-cert and --mllp-tls-key go together")
	}
	if c.MLLPTLSCert != "" && c.MLLP == "" {
		return fmt.Errorf("--mllp-tls-cert needs --mllp")
	}
	if c.Database == "" && c.Data == "" {
		return fmt.Errorf("--data must name a directory")
	}
	return nil
}
