package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCLI(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.ndjson")
	os.WriteFile(good, []byte(`{"resourceType":"Patient","id":"a","name":[{"family":"Ng"}]}`+"\n"+`{"resourceType":"Patient","id":"b"}`+"\n"), 0o600)
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"resourceType":"Patient","id":"c","birthDate":"soon"}`), 0o600)

	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"import", "--data", data, good}, &out, &errOut); err != nil {
		t.Fatalf("import: %v %s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "loaded 2 resources (Patient 2), rejected 0") {
		t.Errorf("import output: %s", out.String())
	}
	out.Reset()
	var ee exitError
	if err := run(ctx, []string{"import", "--data", data, bad}, &out, &errOut); !errors.As(err, &ee) || ee != 1 {
		t.Errorf("import of a bad resource: %v", err)
	}
	if !strings.Contains(out.String(), "rejected") || !strings.Contains(out.String(), "Patient.birthDate") {
		t.Errorf("rejection not reported: %s", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"reindex", "--data", data}, &out, &errOut); err != nil {
		t.Fatalf("reindex: %v", err)
	}
	// 2 Patients and the AuditEvents of their import (one per patient).
	if !strings.Contains(out.String(), "reindexed 4 resources") || !strings.Contains(out.String(), "reindex complete") {
		t.Errorf("reindex output: %s", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"version"}, &out, &errOut); err != nil || !strings.HasPrefix(out.String(), "junction ") {
		t.Errorf("version: %v %q", err, out.String())
	}
	for _, cmd := range []string{"serve", "import", "synth", "reindex", "profiles", "version", "bench"} {
		errOut.Reset()
		if err := run(ctx, []string{cmd, "--help"}, &out, &errOut); !errors.Is(err, flag.ErrHelp) || !strings.Contains(errOut.String(), "Usage: junction "+cmd) {
			t.Errorf("%s --help: %v %q", cmd, err, errOut.String())
		}
	}
	if err := run(ctx, []string{"nonsense"}, &out, &errOut); !errors.As(err, &ee) || ee != 2 {
		t.Errorf("unknown command: %v", err)
	}
	t.Setenv("JUNCTION_VALIDATION", "nonsense")
	if err := run(ctx, []string{"import", "--data", data, good}, &out, &errOut); err == nil {
		t.Error("bad JUNCTION_VALIDATION accepted")
	}
}
