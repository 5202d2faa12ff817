package feed_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/nhs-junction/junction/internal/feed"
	"github.com/nhs-junction/junction/internal/store"
	"github.com/nhs-junction/junction/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// outcome is a message's result as the golden files record it.
type outcome struct {
	File   string   `json:"file"`
	Status string   `json:"status"`
	Code   string   `json:"code"`
	Ack    []string `json:"ack"` // the MSA and ERR segments sent
}

type golden struct {
	Outcomes  []outcome         `json:"outcomes"`
	Resources []json.RawMessage `json:"resources"`
}

// ackLines keeps an acknowledgement's segments after MSH (its MSH has
// the time and a fresh control id).
func ackLines(ack []byte) []string {
	var out []string
	for _, seg := range strings.Split(strings.TrimRight(string(ack), "\r"), "\r") {
		if seg != "" && !strings.HasPrefix(seg, "MSH") {
			out = append(out, seg)
		}
	}
	return out
}

var uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// snapshot lists every current resource in the store, without meta,
// with server-assigned ids replaced by their order of creation.
func snapshot(t *testing.T, st store.Store) []json.RawMessage {
	t.Helper()
	var all []store.Version
	q := store.HistoryQuery{Count: 1000}
	for {
		page, err := st.History(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Versions...)
		if !page.More {
			break
		}
		q.Before, q.Snapshot = page.Versions[len(page.Versions)-1].Seq, page.Snapshot
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Seq < all[j].Seq })
	current := map[string]store.Version{}
	var order []string
	ids := map[string]string{}
	for _, v := range all {
		key := v.Type + "/" + v.ID
		if _, seen := current[key]; !seen {
			order = append(order, key)
			if uuidRE.MatchString(v.ID) {
				ids[v.ID] = strings.ToLower(v.Type) + "-" + string(rune('A'+len(ids)))
			}
		}
		current[key] = v
	}
	norm := func(key string) string {
		typ, id, _ := strings.Cut(key, "/")
		if n, ok := ids[id]; ok {
			return typ + "/" + n
		}
		return key
	}
	sort.Slice(order, func(i, j int) bool { return norm(order[i]) < norm(order[j]) })
	var out []json.RawMessage
	for _, key := range order {
		v := current[key]
		if v.Deleted {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(v.Body, &m); err != nil {
			t.Fatal(err)
		}
		delete(m, "meta")
		b, _ := json.MarshalIndent(m, "", "  ")
		s := uuidRE.ReplaceAllStringFunc(string(b), func(u string) string {
			if n, ok := ids[u]; ok {
				return n
			}
			return "uuid"
		})
		out = append(out, json.RawMessage(s))
	}
	return out
}

// checkGolden compares got with testdata/golden/name.json (or writes it
// with -update).
func checkGolden(t *testing.T, name string, got golden) {
	t.Helper()
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(want, b) {
		got := filepath.Join(t.TempDir(), name+".got.json")
		_ = os.WriteFile(got, b, 0o644)
		_ = os.WriteFile(filepath.Join(os.TempDir(), name+".got.json"), b, 0o644)
		t.Errorf("%s differs from the golden file (got written to %s)", path, filepath.Join(os.TempDir(), name+".got.json"))
	}
}

func process(t *testing.T, e *env, name string, raw []byte) (outcome, feed.Outcome) {
	t.Helper()
	out := e.feed.Process(context.Background(), raw, "test")
	return outcome{File: name, Status: out.Status, Code: out.Code, Ack: ackLines(out.Ack)}, out
}

// TestGoldenNHSSequence plays a PAS feed through one patient's life
// (register, admit, transfer, cancel transfer, discharge, cancel
// discharge, update, pre-admit and its cancellation, ED attendance,
// changes of class), a laboratory's results with every value type, a
// merge, and the bad messages every feed sends, on both backends.
func TestGoldenNHSSequence(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "messages", "*.hl7"))
	if err != nil || len(files) == 0 {
		t.Fatal("no fixtures", err)
	}
	sort.Strings(files)
	for _, e := range backends(t, nil) {
		t.Run(e.name, func(t *testing.T) {
			var g golden
			for _, f := range files {
				raw, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				o, _ := process(t, e, filepath.Base(f), raw)
				g.Outcomes = append(g.Outcomes, o)
			}
			g.Resources = snapshot(t, e.st)
			checkGolden(t, "nhs-sequence", g)
		})
	}
}

// seedFor makes an ADT^A28 from a result message's MSH, PID and PD1, so
// the patient its results are for is known.
func seedFor(raw []byte) []byte {
	text := strings.ReplaceAll(strings.ReplaceAll(string(raw), "\r\n", "\r"), "\n", "\r")
	var out []string
	for _, seg := range strings.Split(text, "\r") {
		switch {
		case strings.HasPrefix(seg, "MSH"):
			sep := seg[3:4]
			f := strings.Split(seg, sep)
			if len(f) > 9 {
				f[8] = "ADT" + f[1][:1] + "A28"
				f[9] += "-seed"
			}
			out = append(out, strings.Join(f, sep))
		case strings.HasPrefix(seg, "PID"), strings.HasPrefix(seg, "PD1"):
			out = append(out, seg)
		}
	}
	return []byte(strings.Join(out, "\r") + "\r")
}

// TestGoldenShared maps each NHS-shaped sample message of the shared
// data set (../shared/data/hl7v2) on its own store; a result message is
// preceded by an A28 registering its patient.
func TestGoldenShared(t *testing.T) {
	dir := testenv.SharedData(t, "hl7v2")
	files, _ := filepath.Glob(filepath.Join(dir, "*.hl7"))
	sort.Strings(files)
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".hl7")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			e := newEnvSQLite(t)
			var g golden
			if strings.Contains(name, "oru") {
				o, _ := process(t, e, "seed", seedFor(raw))
				g.Outcomes = append(g.Outcomes, o)
			}
			o, _ := process(t, e, name, raw)
			g.Outcomes = append(g.Outcomes, o)
			g.Resources = snapshot(t, e.st)
			checkGolden(t, "shared-"+name, g)
		})
	}
}
