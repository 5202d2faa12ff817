package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/nhs-junction/junction/internal/audit"
	"github.com/nhs-junction/junction/internal/config"
	"github.com/nhs-junction/junction/internal/interaction"
	"github.com/nhs-junction/junction/internal/search"
)

// auditing reports whether cfg records accesses: --audit on, the
// default of every command (config.Defaults). A Config built without the
// defaults (Audit "") records nothing, like --audit off.
func auditing(cfg config.Config) bool { return cfg.Audit == "on" }

// auditOptions returns the interaction service's audit settings over st,
// or nil with --audit off. st must offer committed reads of the store
// (DB, as *search.Engine does): the patients of what was read are found
// there. lg may be nil (a command that writes but does not publish the
// log: its AuditEvents wait in the queue for the server's integrator).
func auditOptions(cfg config.Config, st any, lg *audit.Log) (*interaction.AuditOptions, error) {
	if !auditing(cfg) {
		return nil, nil
	}
	dbOf, ok := st.(interface{ DB() search.DB })
	if !ok {
		return nil, fmt.Errorf("the store %T cannot record AuditEvents (no committed reads); run with --audit off only for benchmarks", st)
	}
	return &interaction.AuditOptions{
		Server: audit.Server{Name: "Junction", BaseURL: strings.TrimSuffix(cfg.BaseURL, "/")},
		DB:     dbOf.DB(),
		Log:    lg,
	}, nil
}

// openAudit opens the transparency log of engine's store and runs its
// integrator until ctx ends (or the store closes), logging the verifier
// key that checks its checkpoints. It returns nil with --audit off.
func openAudit(ctx context.Context, cfg config.Config, engine *search.Engine, log *slog.Logger) (*audit.Log, error) {
	if !auditing(cfg) {
		log.Warn("AUDIT IS OFF: accesses are not recorded. Never run like this with real data.")
		return nil, nil
	}
	lg, err := audit.Open(ctx, engine.Store, audit.Options{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("open the audit log: %w", err)
	}
	go func() {
		if err := lg.Run(ctx); err != nil {
			log.Error("audit log integrator stopped", "err", err)
		}
	}()
	log.Info("audit log", "origin", lg.Origin(), "verifier_key", lg.VerifierKey(), "published", "/log/")
	return lg, nil
}
