package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/nhs-junction/junction/internal/app"
	"github.com/nhs-junction/junction/internal/config"
	"github.com/nhs-junction/junction/internal/synth"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := config.Defaults()
	fs := newFlagSet("serve", "junction serve [--addr HOST:PORT] [--data DIR | --database postgres://...] [--demo]",
		"Runs the FHIR R4 server. The FHIR base is http://HOST:PORT/fhir; /healthz, /readyz and /metrics sit beside it.", stderr)
	cfg.ServeFlags(fs)
	if err := cfg.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve takes no arguments, got %q", fs.Args())
	}
	return app.Serve(ctx, cfg, app.NewLogger(cfg, stderr), nil)
}

func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := config.Defaults()
	fs := newFlagSet("import", "junction import [--data DIR | --database URL] PATH...",
		"Loads FHIR JSON: single resources, Bundles (transaction, batch and collection bundles are unpacked,\n"+
			"urn:uuid references rewritten), NDJSON files, or directories of them. Prints what it loaded and\n"+
			"what it rejected; exits 1 if anything was rejected.", stderr)
	cfg.StoreFlags(fs)
	fs.StringVar(&cfg.Validation, "validation", cfg.Validation, "validation: off or base")
	if err := cfg.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return exitError(2)
	}
	start := time.Now()
	stats, err := app.Import(ctx, cfg, fs.Args(), stdout)
	total := 0
	var types []string
	for t, n := range stats.Loaded {
		total += n
		types = append(types, t)
	}
	sort.Strings(types)
	var parts []string
	for _, t := range types {
		parts = append(parts, fmt.Sprintf("%s %d", t, stats.Loaded[t]))
	}
	elapsed := time.Since(start)
	fmt.Fprintf(stdout, "loaded %d resources (%s), rejected %d, in %s (%.0f resources/s)\n",
		total, strings.Join(parts, ", "), stats.Rejected, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds())
	if err != nil {
		return err
	}
	if stats.Rejected > 0 {
		return exitError(1)
	}
	return nil
}

func runSynth(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("synth", "junction synth --patients N [--seed S] [--out DIR] [--format ndjson|bundles]",
		"Generates a deterministic synthetic UK population: NDJSON one file per resource type, or one\n"+
			"transaction Bundle per patient. Load it with 'junction import DIR'.", stderr)
	opts := synth.Options{Patients: 100, Seed: 1}
	out, format := "./synth", "ndjson"
	fs.IntVar(&opts.Patients, "patients", opts.Patients, "number of patients")
	fs.Int64Var(&opts.Seed, "seed", opts.Seed, "random seed: the same seed gives the same population")
	fs.StringVar(&out, "out", out, "output directory")
	fs.StringVar(&format, "format", format, "ndjson or bundles")
	c := config.Defaults()
	if err := c.Parse(fs, args); err != nil {
		return err
	}
	if format != "ndjson" && format != "bundles" {
		return fmt.Errorf("--format must be ndjson or bundles")
	}
	if opts.Patients < 1 {
		return fmt.Errorf("--patients must be at least 1")
	}
	stats, err := synth.Write(ctx, opts, out, format, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%v\n", stats)
	return nil
}

func runVersion(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", "junction version", "Prints the version.", stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "junction %s\n", app.Version)
	return nil
}
