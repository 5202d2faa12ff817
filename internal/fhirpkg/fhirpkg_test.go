package fhirpkg

import (
	"crypto/sha512"
	"encoding/base64"
	"github.com/nhs-junction/junction/internal/testenv"
	"os"
	"path/filepath"
	"testing"
)

func TestDir(t *testing.T) {
	dir, err := Dir()
	if err != nil {
		testenv.Unavailable(t, "FHIR package unavailable: %v", err)
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

func TestExpansionsDir(t *testing.T) {
	dir, err := ExpansionsPackage.Dir()
	if err != nil {
		testenv.Unavailable(t, "FHIR expansions package unavailable: %v", err)
	}
	vs, err := filepath.Glob(filepath.Join(dir, "ValueSet-*.json"))
	if err != nil {
		t.Fatal(err)
	}
	// The package holds the 553 expansions of the R4 publication.
	if len(vs) < 500 {
		t.Errorf("%s: %d ValueSet files, want the ~550 of the package", dir, len(vs))
	}
}

func TestExpansionsEnvOverride(t *testing.T) {
	d := t.TempDir()
	if err := os.WriteFile(filepath.Join(d, "package.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(ExpansionsEnvVar, d)
	got, err := ExpansionsPackage.Dir()
	if err != nil || got != d {
		t.Fatalf("ExpansionsPackage.Dir() = %q, %v; want %q", got, err, d)
	}
	// The examples package does not follow the other's override.
	t.Setenv(EnvVar, "")
	if got, err := Dir(); err == nil && got == d {
		t.Fatalf("Dir() followed $%s", ExpansionsEnvVar)
	}
}

func TestCheckIntegrity(t *testing.T) {
	f := filepath.Join(t.TempDir(), "p.tgz")
	if err := os.WriteFile(f, []byte("not the package"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []Package{ExamplesPackage, ExpansionsPackage} {
		if err := checkIntegrity(f, p.Integrity); err == nil {
			t.Errorf("%s: a tarball with other content passed the integrity check", p)
		}
	}
	sum := sha512.Sum512([]byte("not the package"))
	if err := checkIntegrity(f, "sha512-"+base64.StdEncoding.EncodeToString(sum[:])); err != nil {
		t.Errorf("the file's own sha512 was rejected: %v", err)
	}
}
