package synth

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"time"
)

// The output formats Write accepts.
const (
	// FormatNDJSON writes one file per resource type, one resource per
	// line, named <Type>.ndjson: the FHIR Bulk Data export layout, and
	// what a bulk import reads.
	FormatNDJSON = "ndjson"
	// FormatBundles writes one transaction Bundle per patient,
	// patient-<index>.json, and one for the shared resources,
	// 000-shared.json, which sorts first so loading the files in name
	// order never refers to something not yet loaded.
	FormatBundles = "bundles"
)

// SharedBundleName is the file FormatBundles writes the shared resources to.
const SharedBundleName = "000-shared.json"

// Stats reports what Write produced.
type Stats struct {
	Patients  int
	Resources int64
	// ByType counts resources per resource type.
	ByType map[string]int64
	// Files is the number of files written.
	Files int
	// Bytes is the number of bytes written across all files.
	Bytes   int64
	Elapsed time.Duration
	// ResourcesPerSecond is Resources divided by Elapsed.
	ResourcesPerSecond float64
}

// ErrFormat reports a format other than FormatNDJSON or FormatBundles.
var ErrFormat = errors.New("synth: unknown format")

// Write generates the population opts describes into dir, creating dir if
// needed and creating or truncating the files it writes; other files in
// dir are left alone. Patients are generated on several goroutines but
// written in index order, so the files are byte-for-byte the same for the
// same opts and format. If progress is not nil, a line is written to it
// every few seconds and at the end. Write stops early, returning ctx.Err(),
// if ctx is cancelled; the files are then incomplete.
func Write(ctx context.Context, opts Options, dir, format string, progress io.Writer) (Stats, error) {
	start := time.Now()
	st := Stats{Patients: opts.Patients, ByType: map[string]int64{}}
	if format != FormatNDJSON && format != FormatBundles {
		return st, fmt.Errorf("%w %q: want %q or %q", ErrFormat, format, FormatNDJSON, FormatBundles)
	}
	if opts.Patients < 0 || opts.Patients > MaxPatients {
		return st, fmt.Errorf("synth: Patients = %d, want 0 to %d", opts.Patients, MaxPatients)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return st, err
	}
	g := New(opts)
	var s sink
	if format == FormatNDJSON {
		s = &ndjsonSink{dir: dir, files: map[string]*countedFile{}}
	} else {
		s = &bundleSink{dir: dir, seed: opts.Seed}
	}
	err := run(ctx, g, s, &st, progress, start)
	if cerr := s.close(&st); err == nil {
		err = cerr
	}
	st.Elapsed = time.Since(start)
	if st.Elapsed > 0 {
		st.ResourcesPerSecond = float64(st.Resources) / st.Elapsed.Seconds()
	}
	if progress != nil {
		fmt.Fprintf(progress, "synth: %d patients, %d resources, %d files, %d bytes in %s (%.0f resources/s)\n",
			st.Patients, st.Resources, st.Files, st.Bytes, st.Elapsed.Round(time.Millisecond), st.ResourcesPerSecond)
	}
	return st, err
}

// sink receives resources in their final order. index is -1 for the
// shared resources.
type sink interface {
	write(index int, items []item) error
	close(st *Stats) error
}

func run(ctx context.Context, g *Generator, s sink, st *Stats, progress io.Writer, start time.Time) error {
	count := func(items []item) {
		st.Resources += int64(len(items))
		for _, it := range items {
			st.ByType[it.typ]++
		}
	}
	shared := g.sharedResources()
	count(shared)
	if err := s.write(-1, shared); err != nil {
		return err
	}

	// Workers generate patients in any order; results are handed to the
	// writer through per-patient channels queued in index order, which
	// keeps the output deterministic while bounding memory to a small
	// window of patients.
	workers := min(runtime.GOMAXPROCS(0), 8)
	type job struct {
		i   int
		out chan []item
	}
	jobs := make(chan job)
	queue := make(chan chan []item, 4*workers)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(jobs)
		defer close(queue)
		for i := 0; i < g.n; i++ {
			out := make(chan []item, 1)
			select {
			case queue <- out:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- job{i, out}:
			case <-ctx.Done():
				return
			}
		}
	}()
	for w := 0; w < workers; w++ {
		go func() {
			for j := range jobs {
				j.out <- g.patientItems(j.i)
			}
		}()
	}
	last := time.Now()
	i := 0
	for out := range queue {
		var items []item
		select {
		case items = <-out:
		case <-ctx.Done():
			return ctx.Err()
		}
		count(items)
		if err := s.write(i, items); err != nil {
			return err
		}
		i++
		if progress != nil && time.Since(last) > 2*time.Second {
			last = time.Now()
			el := time.Since(start).Seconds()
			fmt.Fprintf(progress, "synth: %d/%d patients, %d resources, %.0f resources/s\n", i, g.n, st.Resources, float64(st.Resources)/el)
		}
	}
	return ctx.Err()
}

// countedFile is an output file with a buffer and a byte count.
type countedFile struct {
	f *os.File
	w *bufio.Writer
	n int64
}

func createFile(path string) (*countedFile, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return &countedFile{f: f, w: bufio.NewWriterSize(f, 1<<20)}, nil
}

func (c *countedFile) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func (c *countedFile) close() error {
	err := c.w.Flush()
	if cerr := c.f.Close(); err == nil {
		err = cerr
	}
	return err
}

type ndjsonSink struct {
	dir   string
	files map[string]*countedFile
}

func (s *ndjsonSink) write(_ int, items []item) error {
	for _, it := range items {
		f := s.files[it.typ]
		if f == nil {
			var err error
			if f, err = createFile(filepath.Join(s.dir, it.typ+".ndjson")); err != nil {
				return err
			}
			s.files[it.typ] = f
		}
		if _, err := f.Write(it.data); err != nil {
			return err
		}
		if _, err := f.Write([]byte{'\n'}); err != nil {
			return err
		}
	}
	return nil
}

func (s *ndjsonSink) close(st *Stats) error {
	names := make([]string, 0, len(s.files))
	for name := range s.files {
		names = append(names, name)
	}
	sort.Strings(names)
	var first error
	for _, name := range names {
		f := s.files[name]
		if err := f.close(); err != nil && first == nil {
			first = err
		}
		st.Files++
		st.Bytes += f.n
	}
	return first
}

type bundleSink struct {
	dir   string
	seed  int64
	buf   bytes.Buffer
	files int
	bytes int64
}

// PatientBundleName returns the file FormatBundles writes patient i to.
// The index is zero-padded so name order is index order.
func PatientBundleName(i int) string { return fmt.Sprintf("patient-%07d.json", i) }

func (s *bundleSink) write(index int, items []item) error {
	name, id := SharedBundleName, uuidFor(s.seed, streamShared, 1<<50)
	if index >= 0 {
		name, id = PatientBundleName(index), uuidFor(s.seed, uint64(index), 1<<50)
	}
	s.buf.Reset()
	appendBundle(&s.buf, id, items)
	f, err := createFile(filepath.Join(s.dir, name))
	if err != nil {
		return err
	}
	if _, err := f.Write(s.buf.Bytes()); err != nil {
		f.close()
		return err
	}
	s.count(f.n)
	return f.close()
}

func (s *bundleSink) count(n int64) {
	s.files++
	s.bytes += n
}

func (s *bundleSink) close(st *Stats) error {
	st.Files += s.files
	st.Bytes += s.bytes
	return nil
}

// appendBundle writes a transaction Bundle of PUTs around the already
// encoded resources, without decoding them again. PUT with the
// generator's ids makes loading idempotent: loading the same files twice
// leaves one copy of each resource.
func appendBundle(buf *bytes.Buffer, id string, items []item) {
	buf.WriteString(`{"resourceType":"Bundle","id":"`)
	buf.WriteString(id)
	buf.WriteString(`","type":"transaction","entry":[`)
	for k, it := range items {
		if k > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString(`{"fullUrl":"urn:uuid:`)
		buf.WriteString(it.id)
		buf.WriteString(`","resource":`)
		buf.Write(it.data)
		buf.WriteString(`,"request":{"method":"PUT","url":"`)
		buf.WriteString(it.typ)
		buf.WriteByte('/')
		buf.WriteString(it.id)
		buf.WriteString(`"}}`)
	}
	buf.WriteString("]}\n")
}
