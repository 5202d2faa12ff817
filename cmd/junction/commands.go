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
	return importCommand(ctx, args, stdout, stderr, "import", "junction import [--data DIR | --database URL] PATH...",
		"Loads FHIR JSON: single resources, Bundles (transaction, batch and collection bundles are unpacked,\n"+
			"urn:uuid references rewritten), NDJSON files, or directories of them. Prints what it loaded and\n"+
			"what it rejected; exits 1 if anything was rejected.", app.Import)
}

// runProfiles is `junction profiles load`.
func runProfiles(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "load" && args[0] != "--help" && args[0] != "-h") {
		fmt.Fprintln(stderr, "Usage: junction profiles load [--data DIR | --database URL] FILE|DIR...")
		return exitError(2)
	}
	if args[0] == "load" {
		args = args[1:]
	}
	return importCommand(ctx, args, stdout, stderr, "profiles", "junction profiles load [--data DIR | --database URL] FILE|DIR...",
		"Stores profiles (StructureDefinitions that constrain a resource or data type), so that resources\n"+
			"claiming them in meta.profile are validated against them on write and by $validate. Anything\n"+
			"that is not a usable profile is rejected with the reason; exits 1 if anything was rejected.", app.LoadProfiles)
}

type importFunc func(ctx context.Context, cfg config.Config, paths []string, out, progress io.Writer) (app.ImportStats, error)

func importCommand(ctx context.Context, args []string, stdout, stderr io.Writer, name, synopsis, description string, load importFunc) error {
	cfg := config.Defaults()
	fs := newFlagSet(name, synopsis, description, stderr)
	cfg.StoreFlags(fs)
	fs.StringVar(&cfg.Validation, "validation", cfg.Validation, "validation: off, base or strict")
	if err := cfg.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return exitError(2)
	}
	start := time.Now()
	stats, err := load(ctx, cfg, fs.Args(), stdout, stderr)
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
	fmt.Fprintf(stdout, "wrote %d patients, %d resources (%s) in %d files, %.1f MB, in %s\n",
		stats.Patients, stats.Resources, byType(stats.ByType), stats.Files, float64(stats.Bytes)/1e6, stats.Elapsed.Round(time.Millisecond))
	return nil
}

// byType lists counts by resource type, largest first.
func byType(m map[string]int64) string {
	types := make([]string, 0, len(m))
	for t := range m {
		types = append(types, t)
	}
	sort.Slice(types, func(i, j int) bool {
		if m[types[i]] != m[types[j]] {
			return m[types[i]] > m[types[j]]
		}
		return types[i] < types[j]
	})
	parts := make([]string, len(types))
	for i, t := range types {
		parts[i] = fmt.Sprintf("%s %d", t, m[t])
	}
	return strings.Join(parts, ", ")
}

func runVersion(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", "junction version", "Prints the version.", stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "junction %s\n", app.Version)
	return nil
}

func runReindex(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := config.Defaults()
	fs := newFlagSet("reindex", "junction reindex [--data DIR | --database URL] [--after SEQ]",
		"Rebuilds the search index of every current resource, in store order, 500 resources per\n"+
			"transaction, printing progress. Interrupted runs resume with --after and the last\n"+
			"sequence number printed; the server may keep running meanwhile.", stderr)
	cfg.StoreFlags(fs)
	var after int64
	fs.Int64Var(&after, "after", 0, "resume after this sequence number (from a previous run's progress)")
	if err := cfg.Parse(fs, args); err != nil {
		return err
	}
	st, err := app.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	start := time.Now()
	last := after
	err = st.Reindex(ctx, after, func(lastSeq int64, done int) {
		last = lastSeq
		fmt.Fprintf(stdout, "reindexed %d resources (last seq %d, %.0f/s)\n", done, lastSeq, float64(done)/time.Since(start).Seconds())
	})
	if err != nil {
		return fmt.Errorf("%w (resume with --after %d)", err, last)
	}
	fmt.Fprintf(stdout, "reindex complete in %s\n", time.Since(start).Round(time.Millisecond))
	return nil
}
