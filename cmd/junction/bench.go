package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/nhs-junction/junction/internal/bench"
	"github.com/nhs-junction/junction/internal/config"
)

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := config.Defaults()
	fs := newFlagSet("bench",
		"junction bench [--database URL] [--data DIR] [--patients N] [--clients C] [--duration D] [--json FILE] [--scenarios list]",
		"Loads a synthetic population into a fresh store through the HTTP API and measures ingest, read,\n"+
			"search, $everything and transaction scenarios, each against a baseline measured in the same run.\n"+
			"Prints a table; --json writes one JSON object per line. Nothing outside the temporary store\n"+
			"(a directory under --data, or new schemas in --database that are dropped at the end) is touched.", stderr)
	// Not cfg.StoreFlags: here --data is where the temporary database goes,
	// never a database to reuse.
	cfg.Data = os.TempDir()
	fs.StringVar(&cfg.Data, "data", cfg.Data, "directory to create the temporary working directory and SQLite databases in")
	fs.StringVar(&cfg.Database, "database", cfg.Database, "PostgreSQL URL to benchmark instead of SQLite; the run creates and drops its own schemas")
	fs.StringVar(&cfg.Validation, "validation", cfg.Validation, "server validation: off or base")
	opts := bench.Options{Patients: 20, Clients: 16, Duration: 10 * time.Second, Seed: 1}
	var jsonFile, scenarios string
	fs.IntVar(&opts.Patients, "patients", opts.Patients, "patients in the synthetic population")
	fs.Int64Var(&opts.Seed, "seed", opts.Seed, "population seed")
	fs.IntVar(&opts.Clients, "clients", opts.Clients, "concurrent keep-alive clients")
	fs.DurationVar(&opts.Duration, "duration", opts.Duration, "how long the read scenario runs (the others scale with it)")
	fs.StringVar(&jsonFile, "json", "", "also write the results to this file, one JSON object per line")
	fs.StringVar(&scenarios, "scenarios", "all", "comma-separated scenarios: "+strings.Join(bench.Scenarios, ",")+" or all")
	if err := cfg.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench takes no arguments, got %q", fs.Args())
	}
	if scenarios != "all" {
		for _, s := range strings.Split(scenarios, ",") {
			if s = strings.TrimSpace(s); s != "" {
				opts.Scenarios = append(opts.Scenarios, s)
			}
		}
	}
	opts.Database, opts.Dir, opts.Validation, opts.Log = cfg.Database, cfg.Data, cfg.Validation, stderr

	results, err := bench.Run(ctx, opts)
	if werr := bench.WriteTable(stdout, results); err == nil {
		err = werr
	}
	if jsonFile != "" && len(results) > 0 {
		f, ferr := os.Create(jsonFile)
		if ferr != nil {
			return ferr
		}
		werr := bench.WriteJSON(f, results)
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if err == nil {
			err = werr
		}
	}
	return err
}
