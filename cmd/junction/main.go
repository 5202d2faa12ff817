// Command junction is the Junction health-record exchange: a FHIR R4
// server with an embedded database, and the tools around it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			os.Exit(int(ee))
		}
		fmt.Fprintln(os.Stderr, "junction:", err)
		os.Exit(1)
	}
}

// exitError ends the process with a status after output was already written.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

const usage = `Junction: an NHS health-record exchange and FHIR R4 server.

Usage:
  junction <command> [flags]

Commands:
  serve     run the FHIR server (embedded SQLite by default, PostgreSQL with --database)
  import    load FHIR JSON files, bundles, NDJSON or directories of them
  synth     generate a synthetic UK population (NDJSON or transaction bundles)
  profiles  load profiles (StructureDefinitions) to validate resources that claim them
  reindex   rebuild the search index (resumable)
  hl7       send HL7 v2 files over MLLP (hl7 send), re-apply errored messages (hl7 replay)
  audit     verify the tamper-evident audit log (audit verify)
  bench     run the benchmark suite against a fresh store and print ratios to same-run baselines
  version   print the version

Run 'junction <command> --help' for a command's flags. Every flag can also be
set with an environment variable: JUNCTION_ and the flag name in upper case with
- as _ (for example JUNCTION_ADDR, JUNCTION_DATABASE).
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitError(2)
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return runServe(ctx, rest, stdout, stderr)
	case "import":
		return runImport(ctx, rest, stdout, stderr)
	case "synth":
		return runSynth(ctx, rest, stdout, stderr)
	case "profiles":
		return runProfiles(ctx, rest, stdout, stderr)
	case "reindex":
		return runReindex(ctx, rest, stdout, stderr)
	case "bench":
		return runBench(ctx, rest, stdout, stderr)
	case "hl7":
		return runHL7(ctx, rest, stdout, stderr)
	case "user":
		return runUser(ctx, rest, stdout, stderr)
	case "client":
		return runClient(ctx, rest, stdout, stderr)
	case "auth":
		return runAuth(ctx, rest, stdout, stderr)
	case "audit":
		return runAudit(ctx, rest, stdout, stderr)
	case "version", "--version", "-version":
		return runVersion(rest, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "junction: unknown command %q\n\n%s", cmd, usage)
	return exitError(2)
}

// newFlagSet returns a FlagSet whose --help prints a synopsis, a
// description and the flags with their environment variables.
func newFlagSet(name, synopsis, description string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s\n\n%s\n\nFlags (each also settable as JUNCTION_<FLAG>):\n", synopsis, description)
		fs.PrintDefaults()
	}
	return fs
}
