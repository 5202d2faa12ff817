package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/interaction"
)

// ImportStats counts what an import loaded and refused.
type ImportStats struct {
	Loaded   map[string]int
	Rejected int
}

// importBatch is how many resources go into one transaction: large enough
// that the commit cost is shared, small enough to bound memory.
const importBatch = 500

// item is one resource to import and where it came from, for messages.
type item struct {
	where string
	req   *interaction.Request
}

// Importer loads FHIR JSON files into the store through the interaction
// layer, so every resource is validated and stored as a PUT would be.
type Importer struct {
	// Accept, when set, is asked about every resource before it is
	// queued; an error rejects the resource with that reason.
	Accept func(typ string, body []byte) error
	// Progress, when set, receives a line every few seconds: resources
	// loaded, the rate, and how many were rejected so far.
	Progress io.Writer
	started  time.Time
	reported time.Time
	svc      *interaction.Service
	out      io.Writer
	pending  []item
	stats    ImportStats
}

// NewImporter returns an Importer that reports rejections to out.
func NewImporter(svc *interaction.Service, out io.Writer) *Importer {
	return &Importer{svc: svc, out: out, stats: ImportStats{Loaded: map[string]int{}}}
}

// ImportPaths loads every file named, walking directories for *.json and
// *.ndjson files in name order.
func (im *Importer) ImportPaths(ctx context.Context, paths []string) (ImportStats, error) {
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return im.stats, err
		}
		if !info.IsDir() {
			if err := im.importFile(ctx, p); err != nil {
				return im.stats, err
			}
			continue
		}
		var files []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && (strings.HasSuffix(path, ".json") || strings.HasSuffix(path, ".ndjson")) {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return im.stats, err
		}
		sort.Strings(files)
		for _, f := range files {
			if err := im.importFile(ctx, f); err != nil {
				return im.stats, err
			}
		}
	}
	return im.stats, im.flush(ctx)
}

func (im *Importer) importFile(ctx context.Context, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if strings.HasSuffix(path, ".ndjson") {
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 256<<20)
		line := 0
		for sc.Scan() {
			line++
			b := bytes.TrimSpace(sc.Bytes())
			if len(b) == 0 {
				continue
			}
			if err := im.resource(ctx, fmt.Sprintf("%s:%d", path, line), append([]byte(nil), b...)); err != nil {
				return err
			}
		}
		return sc.Err()
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return err
	}
	return im.resource(ctx, path, b)
}

func (im *Importer) reject(where string, err error) {
	im.stats.Rejected++
	msg := err.Error()
	if fe, ok := err.(*fhir.Error); ok {
		var parts []string
		for _, is := range fe.Issues {
			s := is.Diagnostics
			if len(is.Expression) > 0 {
				s += " (at " + strings.Join(is.Expression, ", ") + ")"
			}
			parts = append(parts, s)
		}
		msg = fmt.Sprintf("%d %s", fe.Status, strings.Join(parts, "; "))
	}
	fmt.Fprintf(im.out, "rejected %s: %s\n", where, msg)
}

// resource queues one JSON resource; transaction, batch and collection
// Bundles are unpacked into their entries.
func (im *Importer) resource(ctx context.Context, where string, b []byte) error {
	obj, err := fhir.ParseObject(b)
	if err != nil {
		im.reject(where, fhir.Errorf(400, fhir.IssueStructure, "not a JSON object: %v", err))
		return nil
	}
	typ, _ := obj.GetString("resourceType")
	if typ == "Bundle" {
		bt, _ := obj.GetString("type")
		switch bt {
		case "transaction", "batch", "collection":
			return im.bundle(ctx, where, obj)
		}
	}
	id, _ := obj.GetString("id")
	if id == "" {
		id = interaction.NewID()
		idRaw, _ := json.Marshal(id)
		obj.Set("id", idRaw, "resourceType")
		b = obj.Bytes()
	}
	return im.queue(ctx, item{where, &interaction.Request{Kind: interaction.Update, Type: typ, ID: id, Body: b, Caller: Operator}})
}

type bundleEntry struct {
	FullURL  string          `json:"fullUrl"`
	Resource json.RawMessage `json:"resource"`
	Request  *struct {
		Method string `json:"method"`
		URL    string `json:"url"`
	} `json:"request"`
}

// bundle unpacks a Bundle. Entries keep the id given by a PUT url, else
// the uuid of a urn:uuid fullUrl (so importing the same bundle twice does
// not duplicate), else their own id, else a new one; references to the
// entries' fullUrls are rewritten to Type/id.
func (im *Importer) bundle(ctx context.Context, where string, obj *fhir.Object) error {
	var entries []bundleEntry
	if raw, ok := obj.Get("entry"); ok {
		if err := json.Unmarshal(raw, &entries); err != nil {
			im.reject(where, fhir.Errorf(400, fhir.IssueStructure, "Bundle.entry is malformed: %v", err))
			return nil
		}
	}
	type prepared struct {
		typ, id string
		obj     *fhir.Object
	}
	preps := make([]*prepared, len(entries))
	refs := map[string]string{}
	for i, e := range entries {
		ewhere := fmt.Sprintf("%s entry[%d]", where, i)
		if len(e.Resource) == 0 {
			if e.Request != nil && e.Request.Method == "DELETE" {
				im.reject(ewhere, fhir.Errorf(400, fhir.IssueNotSupported, "DELETE entries are not imported"))
			}
			continue
		}
		o, err := fhir.ParseObject(e.Resource)
		if err != nil {
			im.reject(ewhere, fhir.Errorf(400, fhir.IssueStructure, "entry.resource is not a JSON object"))
			continue
		}
		typ, _ := o.GetString("resourceType")
		id, _ := o.GetString("id")
		if e.Request != nil && e.Request.Method == "PUT" {
			parts := strings.Split(strings.SplitN(e.Request.URL, "?", 2)[0], "/")
			if len(parts) == 2 && parts[0] == typ && fhir.ValidID(parts[1]) {
				id = parts[1]
			}
		} else if u, ok := strings.CutPrefix(e.FullURL, "urn:uuid:"); ok && fhir.ValidID(u) {
			id = u
		}
		if !fhir.ValidID(id) {
			id = interaction.NewID()
		}
		idRaw, _ := json.Marshal(id)
		o.Set("id", idRaw, "resourceType")
		preps[i] = &prepared{typ, id, o}
		if e.FullURL != "" {
			refs[e.FullURL] = typ + "/" + id
		}
	}
	for i, p := range preps {
		if p == nil {
			continue
		}
		body, _, err := fhir.RewriteReferences(p.obj.Bytes(), func(ref string) (string, bool) {
			base, frag, _ := strings.Cut(ref, "#")
			if to, ok := refs[base]; ok {
				if frag != "" {
					to += "#" + frag
				}
				return to, true
			}
			return "", false
		})
		if err != nil {
			im.reject(fmt.Sprintf("%s entry[%d]", where, i), fhir.Errorf(400, fhir.IssueStructure, "malformed JSON"))
			continue
		}
		if err := im.queue(ctx, item{fmt.Sprintf("%s entry[%d]", where, i), &interaction.Request{Kind: interaction.Update, Type: p.typ, ID: p.id, Body: body, Caller: Operator}}); err != nil {
			return err
		}
	}
	return nil
}

func (im *Importer) queue(ctx context.Context, it item) error {
	if im.Accept != nil {
		if err := im.Accept(it.req.Type, it.req.Body); err != nil {
			im.reject(it.where, err)
			return nil
		}
	}
	im.pending = append(im.pending, it)
	if len(im.pending) >= importBatch {
		return im.flush(ctx)
	}
	return nil
}

func (im *Importer) flush(ctx context.Context) error {
	if len(im.pending) == 0 {
		return nil
	}
	reqs := make([]*interaction.Request, len(im.pending))
	for i, it := range im.pending {
		reqs[i] = it.req
	}
	versions, errs, err := im.svc.Load(ctx, reqs)
	if err != nil {
		return err
	}
	for i, it := range im.pending {
		if errs[i] != nil {
			im.reject(it.where, errs[i])
			continue
		}
		if versions[i] != nil {
			im.stats.Loaded[it.req.Type]++
		}
	}
	im.pending = im.pending[:0]
	im.progress(false)
	return nil
}

// progressEvery is how often Progress gets a line.
const progressEvery = 5 * time.Second

// progress reports to Progress when progressEvery has passed since the
// last report (or at once when final).
func (im *Importer) progress(final bool) {
	if im.Progress == nil {
		return
	}
	now := time.Now()
	if im.started.IsZero() {
		im.started, im.reported = now, now
	}
	if !final && now.Sub(im.reported) < progressEvery {
		return
	}
	im.reported = now
	total := 0
	for _, n := range im.stats.Loaded {
		total += n
	}
	elapsed := now.Sub(im.started)
	rate := 0.0
	if elapsed > 0 {
		rate = float64(total) / elapsed.Seconds()
	}
	fmt.Fprintf(im.Progress, "imported %d resources in %s (%.0f/s), rejected %d so far\n", total, elapsed.Round(time.Second), rate, im.stats.Rejected)
}
