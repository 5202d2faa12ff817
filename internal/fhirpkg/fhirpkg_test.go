package fhirpkg

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDir(t *testing.T) {
	dir, err := Dir()
	if err != nil {
		t.Skipf("FHIR package unavailable: %v", err)
	}
	ex, err := Examples(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ex) < 5000 {
		t.Errorf("Examples: %d files, want the ~5300 of the package", len(ex))
	}
	for _, p := range ex {
		if filepath.Base(p) == "package.json" {
			t.Errorf("Examples includes the manifest %s", p)
		}
	}
}

func TestEnvOverride(t *testing.T) {
	d := t.TempDir()
	if err := os.WriteFile(filepath.Join(d, "package.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvVar, d)
	got, err := Dir()
	if err != nil || got != d {
		t.Fatalf("Dir() = %q, %v; want %q", got, err, d)
	}
	t.Setenv(EnvVar, filepath.Join(d, "missing"))
	if _, err := Dir(); err == nil {
		t.Fatal("Dir() with a missing $" + EnvVar + " succeeded")
	}
}
