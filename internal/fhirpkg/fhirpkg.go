// Package fhirpkg locates the official FHIR R4 packages the generators
// and tests read: the examples package (hl7.fhir.r4.examples 4.0.1), which
// holds every StructureDefinition, SearchParameter, CodeSystem, ValueSet
// and CompartmentDefinition of the specification together with the
// official example resources, and the expansions package
// (hl7.fhir.r4.expansions 4.0.1), which holds the expansions of the R4
// value sets as the specification was published, including those over
// external terminologies such as SNOMED CT and LOINC.
//
// It does file and network I/O and exists only for tests and for the
// generators of internal/fhir/spec and internal/terminology; the server
// never imports it.
package fhirpkg

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// Package is an npm FHIR package pinned to one version and tarball.
type Package struct {
	// Name and Version identify the package on the npm registry.
	Name, Version string
	// Integrity is the registry's sha512 of the package tarball; a
	// download that does not match it is rejected.
	Integrity string
	// EnvVar names the environment variable that, when set, gives the
	// directory of an already extracted copy (the directory holding
	// package.json), used instead of the cache.
	EnvVar string
}

const (
	// Name and Version identify the examples package on the npm registry.
	Name    = "hl7.fhir.r4.examples"
	Version = "4.0.1"
	// Integrity is the registry's sha512 of the examples package tarball.
	Integrity = "sha512-DXBdIZOeQaSKIgCU7w6HOC7sw/6BzylmipLkBW4f//pT+Bc94x+8LImwTdvaNThPJoOzpBzvxAzNqjeu3X/zLw=="
	// EnvVar overrides the location of the examples package; see
	// Package.EnvVar.
	EnvVar = "JUNCTION_FHIR_PACKAGE"
	// ExpansionsEnvVar overrides the location of the expansions package.
	ExpansionsEnvVar = "JUNCTION_FHIR_EXPANSIONS_PACKAGE"
)

var (
	// ExamplesPackage is hl7.fhir.r4.examples 4.0.1, the package Dir
	// returns.
	ExamplesPackage = Package{Name: Name, Version: Version, Integrity: Integrity, EnvVar: EnvVar}
	// ExpansionsPackage is hl7.fhir.r4.expansions 4.0.1: one ValueSet
	// file per value set of the specification that has an expansion,
	// each with its compose and its expansion as published.
	ExpansionsPackage = Package{
		Name:      "hl7.fhir.r4.expansions",
		Version:   "4.0.1",
		Integrity: "sha512-E0LjAGKIEla9XdM98cOzE8fv+syczVSzzqjE/29rhK1jK52kSByzSM+dQuQM0j4BiBIpMwZydQnKHV11rV5IlQ==",
		EnvVar:    ExpansionsEnvVar,
	}
)

// String returns the package in npm notation, name@version.
func (p Package) String() string { return p.Name + "@" + p.Version }

// Dir returns the directory of the extracted examples package; it is
// ExamplesPackage.Dir.
func Dir() (string, error) { return ExamplesPackage.Dir() }

// Dir returns the directory of the extracted package. It uses $EnvVar when
// set; otherwise a per-user cache directory, downloading the package with
// `npm pack` and extracting it there on first use. Concurrent callers,
// including other processes, are safe: the package is extracted into a
// private temporary directory and renamed into place, so the cache either
// holds a complete package or none.
func (p Package) Dir() (string, error) {
	if p.EnvVar != "" {
		if d := os.Getenv(p.EnvVar); d != "" {
			if err := checkDir(d); err != nil {
				return "", fmt.Errorf("%s: %w", p.EnvVar, err)
			}
			return d, nil
		}
	}
	cache, err := cacheRoot()
	if err != nil {
		return "", err
	}
	final := filepath.Join(cache, p.Name+"-"+p.Version, "package")
	if checkDir(final) == nil {
		return final, nil
	}
	if err := p.fetch(filepath.Dir(final), final); err != nil {
		return "", err
	}
	return final, checkDir(final)
}

func cacheRoot() (string, error) {
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "junction"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("fhirpkg: no cache directory: %w", err)
	}
	return filepath.Join(home, ".cache", "junction"), nil
}

func checkDir(d string) error {
	st, err := os.Stat(filepath.Join(d, "package.json"))
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s: package.json is not a file", d)
	}
	return nil
}

// fetch downloads the tarball into a temporary directory beside final
// (same file system, so the last rename is atomic), checks its integrity,
// extracts it and renames the extracted directory to final.
func (p Package) fetch(parent, final string) error {
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, ".fetch-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	cmd := exec.Command("npm", "pack", "--silent", p.String())
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("fhirpkg: npm pack %s: %w: %s", p, err, strings.TrimSpace(string(out)))
	}
	tgz, err := filepath.Glob(filepath.Join(tmp, "*.tgz"))
	if err != nil || len(tgz) != 1 {
		return fmt.Errorf("fhirpkg: npm pack produced %d tarballs", len(tgz))
	}
	if err := checkIntegrity(tgz[0], p.Integrity); err != nil {
		return err
	}
	out := filepath.Join(tmp, "x")
	if err := extract(tgz[0], out); err != nil {
		return err
	}
	if err := os.Rename(filepath.Join(out, "package"), final); err != nil {
		// Another caller may have won the race; its copy is as good.
		if checkDir(final) == nil {
			return nil
		}
		return fmt.Errorf("fhirpkg: %w", err)
	}
	return nil
}

// checkIntegrity compares the sha512 of the file at path with want, in
// the npm integrity notation "sha512-<base64>".
func checkIntegrity(path, want string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha512.New()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	got := "sha512-" + base64.StdEncoding.EncodeToString(h.Sum(nil))
	if got != want {
		return fmt.Errorf("fhirpkg: %s has integrity %s, want %s", filepath.Base(path), got, want)
	}
	return nil
}

// extract unpacks the gzip'd tar at path below dir. Only regular files and
// directories are written, and no entry may escape dir.
func extract(path, dir string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("fhirpkg: %w", err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("fhirpkg: %w", err)
		}
		name := filepath.Clean(filepath.FromSlash(h.Name))
		if !filepath.IsLocal(name) {
			return fmt.Errorf("fhirpkg: tar entry %q escapes the package", h.Name)
		}
		target := filepath.Join(dir, name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := writeFile(target, tr); err != nil {
				return err
			}
		}
	}
}

func writeFile(target string, r io.Reader) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	w, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// Examples returns the paths of the resource files in dir, the extracted
// package, sorted: every JSON file except the package manifest and the
// hidden index. Besides the example instances this includes the
// conformance resources (StructureDefinition, SearchParameter, ValueSet
// and so on), all of which are valid resources.
func Examples(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if !e.Type().IsRegular() || !strings.HasSuffix(n, ".json") || n == "package.json" || strings.HasPrefix(n, ".") {
			continue
		}
		out = append(out, filepath.Join(dir, n))
	}
	if len(out) == 0 {
		return nil, errors.New("fhirpkg: no resource files in " + dir)
	}
	sort.Strings(out)
	return out, nil
}

// ReadAll decodes every file of dir matching pattern (a filepath.Glob
// pattern such as "ValueSet-*.json") into a T, in file name order.
func ReadAll[T any](dir, pattern string) ([]T, error) {
	files, err := filepath.Glob(filepath.Join(dir, pattern))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []T
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var v T
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// GenerateMain is the main function of a table generator: it finds the
// package, calls generate with its directory, and writes the result to
// the file named by -o (default zz_generated.go).
func GenerateMain(generate func(dir string) ([]byte, error)) {
	out := flag.String("o", "zz_generated.go", "output file")
	flag.Parse()
	dir, err := Dir()
	if err != nil {
		log.Fatal(err)
	}
	src, err := generate(dir)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, src, 0o644); err != nil {
		log.Fatal(err)
	}
}
