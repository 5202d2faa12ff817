// Package app is the composition root: it builds the store, the
// interaction service and the HTTP server from a config.Config, and owns
// start-up and graceful shutdown.
package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/nhs-junction/junction/internal/access"
	"github.com/nhs-junction/junction/internal/audit"
	"github.com/nhs-junction/junction/internal/authn"
	"github.com/nhs-junction/junction/internal/cds/hooks"
	"github.com/nhs-junction/junction/internal/config"
	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/fhir/spec"
	"github.com/nhs-junction/junction/internal/httpapi"
	"github.com/nhs-junction/junction/internal/identity"
	"github.com/nhs-junction/junction/internal/imaging"
	"github.com/nhs-junction/junction/internal/index"
	"github.com/nhs-junction/junction/internal/interaction"
	"github.com/nhs-junction/junction/internal/search"
	"github.com/nhs-junction/junction/internal/searchparam"
	"github.com/nhs-junction/junction/internal/store"
	"github.com/nhs-junction/junction/internal/store/postgres"
	"github.com/nhs-junction/junction/internal/store/sqlite"
	"github.com/nhs-junction/junction/internal/terminology"
	"github.com/nhs-junction/junction/internal/validate"
)

// Operator is the caller of the commands that work on the store directly
// (import, profiles load, the demo population): the person running the
// binary with access to the database, who could change it anyway, so the
// access rules do not bind them (the unrestricted kind), and they are
// named as the operator wherever the caller is recorded.
var Operator = &access.Caller{Kind: access.Development, Subject: "operator", Name: "Junction operator (command line)"}

// Version is the build's version, set with -ldflags "-X ...app.Version=v1".
var Version = "dev"

// NewLogger builds the process logger from the log settings.
func NewLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// OpenStore opens PostgreSQL when cfg.Database is set, else the embedded
// SQLite database in cfg.Data, and wraps it in the search engine so that
// every write keeps the search index. Migrations are applied on open.
func OpenStore(ctx context.Context, cfg config.Config) (*search.Engine, error) {
	var st store.Store
	if cfg.Database != "" {
		pg, err := postgres.Open(ctx, cfg.Database)
		if err != nil {
			return nil, fmt.Errorf("open PostgreSQL: %w", err)
		}
		st = pg
	} else {
		lite, err := sqlite.Open(ctx, cfg.Data)
		if err != nil {
			return nil, fmt.Errorf("open embedded database in %s: %w", cfg.Data, err)
		}
		st = lite
	}
	engine, err := WithSearch(st, cfg.BaseURL)
	if err != nil {
		st.Close()
		return nil, err
	}
	return engine, nil
}

// EnsureIndex rebuilds the search index when its rows were computed by an
// older version of the indexer (search.IndexVersion), reporting progress
// to log, so that searches never run over rows that mean something else
// now. A store without resources, or one already current, is left alone.
func EnsureIndex(ctx context.Context, e *search.Engine, log *slog.Logger) error {
	ok, err := e.IndexCurrent(ctx)
	if err != nil || ok {
		return err
	}
	log.Warn("the search index was built by an older version of Junction: rebuilding it before serving", "index_version", search.IndexVersion)
	start := time.Now()
	err = e.Reindex(ctx, 0, func(lastSeq int64, done int) {
		if done%(50*search.ReindexBatch) == 0 {
			log.Info("reindexing", "resources", done, "last_seq", lastSeq)
		}
	})
	if err != nil {
		return fmt.Errorf("rebuild the search index: %w", err)
	}
	log.Info("search index rebuilt", "duration", time.Since(start).Round(time.Millisecond))
	return nil
}

// WithSearch wraps a backend store in the search engine over the R4
// search parameters. base is the public FHIR base, so that absolute
// references to this server are indexed as relative ones.
func WithSearch(st store.Store, base string) (*search.Engine, error) {
	return search.Open(st, index.New(searchparam.R4(), base))
}

// NewService builds the interaction service over st, with the code
// systems and value sets already stored registered for the terminology
// operations.
func NewService(ctx context.Context, st Backend, cfg config.Config) (*interaction.Service, error) {
	return newService(ctx, st, cfg, nil, nil)
}

// newService is NewService recording AuditEvents to the log lg (nil: to
// the queue only, see auditOptions), and calling onCommit (when not nil)
// with every version a write stored, after its commit.
func newService(ctx context.Context, st Backend, cfg config.Config, lg *audit.Log, onCommit func(store.Version)) (*interaction.Service, error) {
	terms, profiles := terminology.New(), validate.NewProfiles()
	addConformance := func(v store.Version) {
		// Code systems, value sets and profiles written to the server take
		// effect at once. One that cannot be used (a value set naming a
		// code system the server lacks, a StructureDefinition that is not
		// a profile) is still stored; operations then report it as
		// unavailable.
		if v.Deleted {
			return
		}
		switch v.Type {
		case "CodeSystem", "ValueSet":
			_ = terms.Add(v.Body)
		case "StructureDefinition":
			_ = profiles.Load(v.Body)
		}
	}
	if err := LoadConformance(ctx, st, addConformance); err != nil {
		return nil, fmt.Errorf("load stored terminology and profiles: %w", err)
	}
	dec, err := decider(cfg)
	if err != nil {
		return nil, err
	}
	auditOpts, err := auditOptions(cfg, st, lg)
	if err != nil {
		return nil, err
	}
	opts := interaction.Options{
		Audit:  auditOpts,
		Access: dec,
		Committed: func(v store.Version) {
			addConformance(v)
			if onCommit != nil {
				onCommit(v)
			}
		},
		IsResourceType:  spec.IsResourceType,
		Rules:           identity.CheckNHSNumbers,
		ResourceTypes:   spec.ResourceTypes(),
		SoftwareName:    "Junction",
		SoftwareVersion: Version,
	}
	if cfg.Validation != "off" {
		opts.Validate = writeValidator(cfg.Validation == "strict", terms, profiles)
	}
	// Until access control knows who may see restricted demographics
	// (national RBAC activity B1611), no caller may: restricted patients
	// are always redacted (and flagged) and never found by address,
	// telecom or GP. This fails closed.
	opts.Present = func(raw []byte) ([]byte, error) {
		out, _, err := identity.RedactRestricted(raw)
		return out, err
	}
	opts.RestrictSearch = restrictedPatientSearch
	opts.AutoLink = true
	opts.Terminology = searchTerms{terms}
	opts.Search = interaction.SearchOptions{Engine: st, Registry: searchparam.R4(), IsSummary: func(typ, name string) bool {
		el, _, ok := spec.Child(typ, name)
		return ok && el.Summary
	}}
	svc := interaction.New(st, opts)
	svc.RegisterValidate(func(raw []byte, profile string) []fhir.Issue {
		if issues := validate.Structure(raw); len(fhir.ErrorsOf(issues)) > 0 {
			return issues
		}
		return validate.Validate(raw, validate.Options{Terminology: terms, Profiles: profiles, Profile: profile, ReportNotEvaluated: true})
	})
	svc.RegisterTerminology(terms)
	svc.RegisterEverything()
	svc.RegisterBreakGlass(st.DB(), dec.Policy().BreakGlass)
	svc.RegisterIdentity()
	withClinicalServices(svc, st)
	svc.RegisterAudit()
	return svc, nil
}

// restrictedPatientSearch keeps restricted patients (confidentiality R)
// out of every search that uses the demographics PDS withholds for them
// (address, telecom, GP: identity.RestrictedSearchParams, and the full
// text of _content and _text, which holds them too) on a Patient, at any
// hop: the searched type, a chain through a Patient (search.html
// 3.1.1.4.13), a reverse chain whose hop is a Patient or that follows a
// Patient's GP reference (3.1.1.4.14), an _include or _revinclude that
// follows it, or a _sort by one of them (whose order would tell where a
// restricted patient lives). Such a search hides restricted Patients at
// every hop that can be a Patient, so none can be matched, included or
// make another resource match. Hiding them at hops that do not test the
// withheld parameters too is deliberate: it is simpler, and it fails
// closed.
func restrictedPatientSearch(q *searchparam.Query) search.Restriction {
	if !usesWithheld(q) {
		return nil
	}
	return func(v string, types []string) *search.Condition {
		if len(types) > 0 && !slices.Contains(types, "Patient") {
			return nil
		}
		return &search.Condition{
			SQL:  "NOT (" + v + ".type = 'Patient' AND EXISTS (SELECT 1 FROM search_token aclrt WHERE aclrt.seq = " + v + ".seq AND aclrt.param = '_security' AND aclrt.system = ? AND aclrt.code = 'R'))",
			Args: []any{identity.ConfidentialitySystem},
		}
	}
}

// usesWithheld reports whether q tests, follows or sorts by a parameter
// withheld for restricted patients at a hop that can be a Patient.
func usesWithheld(q *searchparam.Query) bool {
	for _, f := range q.Filters {
		if filterUsesWithheld(f) {
			return true
		}
	}
	for _, k := range q.Sort {
		if k.Def != nil && withheldParam(k.Def.Name) && maybePatient(q.Types) {
			return true
		}
	}
	for _, inc := range append(slices.Clone(q.Include), q.RevInclude...) {
		if (inc.Source == "Patient" || inc.Source == "*") && (inc.Param == nil || withheldParam(inc.Param.Name)) {
			return true
		}
	}
	return false
}

// filterUsesWithheld reports whether f, or a hop nested in it, tests a
// withheld parameter on a Patient.
func filterUsesWithheld(f *searchparam.Filter) bool {
	if f == nil {
		return false
	}
	if f.Has != nil {
		if f.Has.Type == "Patient" && f.Has.Ref != nil && withheldParam(f.Has.Ref.Name) {
			return true
		}
		return filterUsesWithheld(f.Has.Filter)
	}
	if f.Def != nil && withheldParam(f.Def.Name) && maybePatient(f.Types) {
		return true
	}
	return filterUsesWithheld(f.Chain)
}

// maybePatient reports whether a hop over types (none: any type) can
// read a Patient.
func maybePatient(types []string) bool {
	return len(types) == 0 || slices.Contains(types, "Patient")
}

// withheldParam reports whether a Patient search parameter tests the
// demographics withheld for restricted patients.
func withheldParam(name string) bool {
	return slices.Contains(identity.RestrictedSearchParams, name) || name == "_content" || name == "_text"
}

// writeValidator checks resources on write against the base R4
// specification: broken structure (unknown elements, wrong JSON types,
// bad formats) is 400; other violations (cardinality, required bindings,
// reference targets, invariants, claimed profiles that are loaded) are
// 422. Strict also refuses a resource claiming a profile the server does
// not hold.
func writeValidator(strict bool, terms *terminology.Registry, profiles *validate.Profiles) func([]byte) error {
	return func(raw []byte) error {
		if issues := fhir.ErrorsOf(validate.Structure(raw)); len(issues) > 0 {
			return &fhir.Error{Status: 400, Issues: issues}
		}
		issues := fhir.ErrorsOf(validate.Validate(raw, validate.Options{Terminology: terms, Profiles: profiles}))
		if strict {
			var head struct {
				ResourceType string
				Meta         struct{ Profile []string }
			}
			_ = json.Unmarshal(raw, &head)
			for i, url := range head.Meta.Profile {
				if _, ok := profiles.Profile(url); !ok {
					issues = append(issues, fhir.Issue{Severity: fhir.SeverityError, Code: fhir.IssueNotSupported,
						Diagnostics: "The resource claims profile " + url + ", which this server does not hold (load it with junction profiles load)",
						Expression:  []string{fmt.Sprintf("%s.meta.profile[%d]", head.ResourceType, i)}})
				}
			}
		}
		if len(issues) > 0 {
			return &fhir.Error{Status: 422, Issues: issues}
		}
		return nil
	}
}

// LoadConformance hands the current version of every stored CodeSystem,
// ValueSet and StructureDefinition to add, so the terminology operations
// and profile validation know them from the start.
func LoadConformance(ctx context.Context, st store.Store, add func(store.Version)) error {
	for _, typ := range []string{"CodeSystem", "ValueSet", "StructureDefinition"} {
		seen := map[string]bool{}
		q := store.HistoryQuery{Type: typ, Count: 500}
		for {
			page, err := st.History(ctx, q)
			if err != nil {
				return err
			}
			for _, v := range page.Versions {
				if seen[v.ID] {
					continue
				}
				seen[v.ID] = true // history is newest first: this is the current version
				add(v)
			}
			if !page.More {
				break
			}
			q.Before, q.Snapshot = page.Versions[len(page.Versions)-1].Seq, page.Snapshot
		}
	}
	return nil
}

// Backend is a store that searches, inside write transactions too: what
// the interaction service is composed over. *search.Engine is one.
type Backend interface {
	store.Store
	interaction.Searcher
	// DB reads the tables kept beside the resources (break-glass grants).
	DB() search.DB
}

// Node is what `junction serve` runs over one opened store: the HTTP
// handler with everything behind it. Tests build their servers with
// Build too, so that they exercise exactly what serve runs.
type Node struct {
	Handler http.Handler
	Service *interaction.Service
	Metrics *httpapi.Metrics
	// Auth is the authorisation server (nil with authorisation off).
	Auth *authn.Server
	// Audit is the transparency log of AuditEvents (nil with --audit off).
	Audit *audit.Log
	// CDS serves /cds-services (CDS Hooks 2.0).
	CDS *hooks.Handler
	// Imaging is the imaging triage (ImagingStudy/$worklist, $ai-triage,
	// the automatic triage of new studies). Close stops its worker.
	Imaging *imaging.Service
}

// Close stops the node's background work (the imaging triage worker).
func (n *Node) Close() {
	if n.Imaging != nil {
		n.Imaging.Close()
	}
}

// Build composes the server over engine as cfg says: the metrics wrapper
// around the store, the interaction service, and the HTTP handler.
func Build(ctx context.Context, cfg config.Config, engine *search.Engine, log *slog.Logger) (*Node, error) {
	metrics := httpapi.NewMetrics()
	lg, err := openAudit(ctx, cfg, engine, log)
	if err != nil {
		return nil, err
	}
	// The imaging triage is told of every committed write (a new
	// ImagingStudy is triaged); it is made once the service exists.
	var triage *imaging.Service
	svc, err := newService(ctx, instrument(engine, metrics), cfg, lg, func(v store.Version) {
		if triage != nil {
			triage.Committed(v)
		}
	})
	if err != nil {
		return nil, err
	}
	triage = withImaging(svc, cfg, log)
	node := &Node{Service: svc, Metrics: metrics, Audit: lg, Imaging: triage}
	opts := httpapi.Options{
		Service:      svc,
		Logger:       log,
		Metrics:      metrics,
		MaxBodyBytes: cfg.MaxBodyBytes,
		Ready:        engine.Ping,
		BaseURL:      cfg.BaseURL,
	}
	if cfg.Auth == "off" {
		opts.Authenticate = func(*http.Request) (*access.Caller, error) {
			return &access.Caller{Kind: access.Development, Subject: "development", Name: "Development (authorisation off)"}, nil
		}
	} else {
		if node.Auth, err = newAuth(ctx, cfg, engine); err != nil {
			return nil, err
		}
		svc.SetSecurity(node.Auth.SecurityJSON())
		opts.Authenticate = authenticate(node.Auth)
		opts.Routes = authRoutes(node.Auth)
	}
	if opts.Routes, node.CDS, err = withCDSHooks(opts.Routes, svc, opts.Authenticate, cfg, node.Auth, log); err != nil {
		return nil, err
	}
	if lg != nil {
		if opts.Routes == nil {
			opts.Routes = map[string]http.Handler{}
		}
		// Public: the entries are salted hashes (internal/audit).
		opts.Routes["/log/"] = lg.Handler()
	}
	node.Handler = httpapi.New(opts)
	return node, nil
}

// CheckAuthOff refuses --auth off on anything but a loopback address:
// with authorisation off every caller may do everything, which is only
// safe where nobody else can connect.
func CheckAuthOff(cfg config.Config, addr net.Addr) error {
	if cfg.Auth != "off" {
		return nil
	}
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || !tcp.IP.IsLoopback() {
		return fmt.Errorf("--auth off is for local development and may listen only on a loopback address (127.0.0.1, ::1), not %s", addr)
	}
	return nil
}

// Serve runs the server until ctx is cancelled, then shuts down
// gracefully: it stops accepting connections and waits (up to
// cfg.ShutdownTimeout) for in-flight requests to finish before closing
// the store. ready, if not nil, receives the listening address.
func Serve(ctx context.Context, cfg config.Config, log *slog.Logger, ready chan<- string) error {
	st, err := OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := EnsureIndex(ctx, st, log); err != nil {
		return err
	}
	node, err := Build(ctx, cfg, st, log)
	if err != nil {
		return err
	}
	defer node.Close()
	if cfg.Demo {
		n, err := LoadDemo(ctx, st, node.Service)
		if err != nil {
			return fmt.Errorf("load demo data: %w", err)
		}
		if n > 0 {
			log.Info("loaded demo population", "resources", n)
		}
		if node.Auth != nil {
			how, err := demoAuth(ctx, cfg, node.Auth)
			if err != nil {
				return fmt.Errorf("demo users and clients: %w", err)
			}
			fmt.Fprintln(os.Stderr, how)
		}
	}
	hl7, err := NewFeed(cfg, st, node.Service, log)
	if err != nil {
		return err
	}
	if cfg.MLLP != "" {
		_, stopMLLP, err := startMLLP(cfg, hl7, log)
		if err != nil {
			return err
		}
		defer stopMLLP(context.Background())
	}
	handler := withHL7(node.Handler, hl7, hl7Authenticate(cfg, node))
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	if err := CheckAuthOff(cfg, ln.Addr()); err != nil {
		ln.Close()
		return err
	}
	if cfg.Auth == "off" {
		log.Warn("AUTHORISATION IS OFF: every request is answered as a development caller allowed everything. Never run like this with real data.")
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("junction listening", "addr", ln.Addr().String(), "fhir_base", "http://"+ln.Addr().String()+"/fhir", "version", Version)
	if ready != nil {
		ready <- ln.Addr().String()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// LoadProfiles stores the profiles (StructureDefinitions that constrain
// a type) found in paths, so that resources claiming them are validated
// against them. Anything else in the files is rejected with the reason.
// progress, when not nil, gets a progress line every few seconds.
func LoadProfiles(ctx context.Context, cfg config.Config, paths []string, out, progress io.Writer) (ImportStats, error) {
	st, err := OpenStore(ctx, cfg)
	if err != nil {
		return ImportStats{}, err
	}
	defer st.Close()
	svc, err := NewService(ctx, st, cfg)
	if err != nil {
		return ImportStats{}, err
	}
	im := NewImporter(svc, out)
	im.Progress = progress
	check := validate.NewProfiles()
	im.Accept = func(typ string, body []byte) error {
		if typ != "StructureDefinition" {
			return fhir.Errorf(400, fhir.IssueNotSupported, "%s is not a profile", fhir.A(typ))
		}
		if err := check.Load(body); err != nil {
			return fhir.Errorf(422, fhir.IssueInvalid, "not a usable profile: %v", err)
		}
		return nil
	}
	return im.ImportPaths(ctx, paths)
}

// Import loads FHIR files into the configured store and reports to out;
// progress, when not nil, gets a progress line every few seconds.
func Import(ctx context.Context, cfg config.Config, paths []string, out, progress io.Writer) (ImportStats, error) {
	st, err := OpenStore(ctx, cfg)
	if err != nil {
		return ImportStats{}, err
	}
	defer st.Close()
	if err := EnsureIndex(ctx, st, slog.New(slog.NewTextHandler(out, nil))); err != nil {
		return ImportStats{}, err
	}
	svc, err := NewService(ctx, st, cfg)
	if err != nil {
		return ImportStats{}, err
	}
	im := NewImporter(svc, out)
	im.Progress = progress
	return im.ImportPaths(ctx, paths)
}
