// Package app is the composition root: it builds the store, the
// interaction service and the HTTP server from a config.Config, and owns
// start-up and graceful shutdown.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/nhs-junction/junction/internal/config"
	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/fhir/spec"
	"github.com/nhs-junction/junction/internal/httpapi"
	"github.com/nhs-junction/junction/internal/identity"
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

// WithSearch wraps a backend store in the search engine over the R4
// search parameters. base is the public FHIR base, so that absolute
// references to this server are indexed as relative ones.
func WithSearch(st store.Store, base string) (*search.Engine, error) {
	return search.Open(st, index.New(searchparam.R4(), base))
}

// NewService builds the interaction service over st, with the code
// systems and value sets already stored registered for the terminology
// operations.
func NewService(ctx context.Context, st store.Store, cfg config.Config) (*interaction.Service, error) {
	terms := terminology.New()
	addTerm := func(v store.Version) {
		// Code systems and value sets written to the server join the
		// terminology operations at once. One that cannot be used (say, it
		// names a code system the server lacks) is still stored; the
		// operations then report it as unavailable.
		if !v.Deleted && (v.Type == "CodeSystem" || v.Type == "ValueSet") {
			_ = terms.Add(v.Body)
		}
	}
	if err := LoadTerminology(ctx, st, addTerm); err != nil {
		return nil, fmt.Errorf("load stored terminology: %w", err)
	}
	opts := interaction.Options{
		Committed:       addTerm,
		IsResourceType:  spec.IsResourceType,
		Rules:           identity.CheckNHSNumbers,
		ResourceTypes:   spec.ResourceTypes(),
		SoftwareName:    "Junction",
		SoftwareVersion: Version,
	}
	if cfg.Validation != "off" {
		opts.Validate = func(raw []byte) []fhir.Issue { return validate.Structure(raw) }
	}
	if engine, ok := st.(interaction.Searcher); ok {
		opts.Search = interaction.SearchOptions{Engine: engine, Registry: searchparam.R4()}
	}
	svc := interaction.New(st, opts)
	svc.RegisterValidate(func(raw []byte, profile string) []fhir.Issue {
		issues := validate.Structure(raw)
		if profile != "" {
			issues = append(issues, fhir.Issue{Severity: fhir.SeverityError, Code: fhir.IssueNotSupported,
				Diagnostics: "Profile " + profile + " is not known to this server, so the resource was not checked against it"})
		}
		return issues
	})
	svc.RegisterTerminology(terms)
	return svc, nil
}

// LoadTerminology registers the code systems and value sets already in
// the store with the service's terminology operations.
func LoadTerminology(ctx context.Context, st store.Store, add func(store.Version)) error {
	for _, typ := range []string{"CodeSystem", "ValueSet"} {
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

// Serve runs the server until ctx is cancelled, then shuts down
// gracefully: it stops accepting connections and waits (up to
// cfg.ShutdownTimeout) for in-flight requests to finish before closing
// the store. ready, if not nil, receives the listening address.
func Serve(ctx context.Context, cfg config.Config, log *slog.Logger, ready chan<- string) error {
	metrics := httpapi.NewMetrics()
	st, err := OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	ist := instrument(st, metrics)
	svc, err := NewService(ctx, ist, cfg)
	if err != nil {
		return err
	}
	if cfg.Demo {
		n, err := LoadDemo(ctx, st, svc)
		if err != nil {
			return fmt.Errorf("load demo data: %w", err)
		}
		if n > 0 {
			log.Info("loaded demo population", "resources", n)
		}
	}
	handler := httpapi.New(httpapi.Options{
		Service:      svc,
		Logger:       log,
		Metrics:      metrics,
		MaxBodyBytes: cfg.MaxBodyBytes,
		Ready:        st.Ping,
		BaseURL:      cfg.BaseURL,
	})
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
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

// Import loads FHIR files into the configured store and reports to out.
func Import(ctx context.Context, cfg config.Config, paths []string, out io.Writer) (ImportStats, error) {
	st, err := OpenStore(ctx, cfg)
	if err != nil {
		return ImportStats{}, err
	}
	defer st.Close()
	svc, err := NewService(ctx, st, cfg)
	if err != nil {
		return ImportStats{}, err
	}
	return NewImporter(svc, out).ImportPaths(ctx, paths)
}
