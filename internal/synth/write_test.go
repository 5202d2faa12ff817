package synth

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func TestWriteNDJSON(t *testing.T) {
	opts := Options{Patients: 30, Seed: testSeed}
	dir := t.TempDir()
	var progress bytes.Buffer
	st, err := Write(context.Background(), opts, dir, FormatNDJSON, &progress)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(progress.String(), "resources/s") {
		t.Errorf("progress = %q", progress.String())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != st.Files || st.Files != len(st.ByType) {
		t.Fatalf("%d files, stats say %d files and %d types", len(entries), st.Files, len(st.ByType))
	}
	var total, bytesOnDisk int64
	for _, e := range entries {
		typ, ok := strings.CutSuffix(e.Name(), ".ndjson")
		if !ok {
			t.Fatalf("unexpected file %s", e.Name())
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<24)
		lines := int64(0)
		for sc.Scan() {
			var m struct{ ResourceType string }
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil || m.ResourceType != typ {
				t.Fatalf("%s line %d: %v, resourceType %q", e.Name(), lines+1, err, m.ResourceType)
			}
			lines++
		}
		f.Close()
		if lines != st.ByType[typ] {
			t.Errorf("%s has %d lines, stats say %d", e.Name(), lines, st.ByType[typ])
		}
		total += lines
		info, _ := e.Info()
		bytesOnDisk += info.Size()
	}
	if total != st.Resources || bytesOnDisk != st.Bytes {
		t.Fatalf("files hold %d resources in %d bytes, stats say %d in %d", total, bytesOnDisk, st.Resources, st.Bytes)
	}

	// Written again, the files are identical.
	dir2 := t.TempDir()
	if _, err := Write(context.Background(), opts, dir2, FormatNDJSON, nil); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		a, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		b, _ := os.ReadFile(filepath.Join(dir2, e.Name()))
		if !bytes.Equal(a, b) {
			t.Fatalf("%s differs between two runs", e.Name())
		}
	}
}

func TestWriteBundles(t *testing.T) {
	opts := Options{Patients: 12, Seed: testSeed}
	dir := t.TempDir()
	st, err := Write(context.Background(), opts, dir, FormatBundles, nil)
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	names := make([]string, len(entries))
	for k, e := range entries {
		names[k] = e.Name()
	}
	sort.Strings(names)
	if len(names) != opts.Patients+1 || names[0] != SharedBundleName || names[1] != PatientBundleName(0) {
		t.Fatalf("files %v", names)
	}
	g := New(opts)
	var entriesSeen int64
	for k, name := range names {
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		var b struct {
			ResourceType, ID, Type string
			Entry                  []struct {
				FullURL  string          `json:"fullUrl"`
				Resource json.RawMessage `json:"resource"`
				Request  struct{ Method, URL string }
			}
		}
		if err := json.Unmarshal(raw, &b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if b.ResourceType != "Bundle" || b.Type != "transaction" || b.ID == "" {
			t.Fatalf("%s: resourceType %q type %q id %q", name, b.ResourceType, b.Type, b.ID)
		}
		want := g.Shared()
		if k > 0 {
			want = g.Patient(k - 1)
		}
		if len(b.Entry) != len(want) {
			t.Fatalf("%s: %d entries, want %d", name, len(b.Entry), len(want))
		}
		for e, en := range b.Entry {
			var r struct{ ResourceType, ID string }
			json.Unmarshal(en.Resource, &r)
			if en.Request.Method != "PUT" || en.Request.URL != r.ResourceType+"/"+r.ID || en.FullURL != "urn:uuid:"+r.ID {
				t.Fatalf("%s entry %d: %+v for %s/%s", name, e, en.Request, r.ResourceType, r.ID)
			}
			if !bytes.Equal(en.Resource, want[e]) {
				t.Fatalf("%s entry %d differs from the generator's resource", name, e)
			}
		}
		entriesSeen += int64(len(b.Entry))
	}
	if entriesSeen != st.Resources || st.Files != len(names) {
		t.Fatalf("%d entries in %d files, stats say %d in %d", entriesSeen, len(names), st.Resources, st.Files)
	}
}

func TestWriteErrors(t *testing.T) {
	if _, err := Write(context.Background(), Options{Patients: 1}, t.TempDir(), "csv", nil); !errors.Is(err, ErrFormat) {
		t.Fatalf("format csv: %v", err)
	}
	if _, err := Write(context.Background(), Options{Patients: -1}, t.TempDir(), FormatNDJSON, nil); err == nil {
		t.Fatal("negative Patients accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Write(ctx, Options{Patients: 500}, t.TempDir(), FormatNDJSON, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}
