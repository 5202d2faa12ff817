package hl7v2

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// sharedDir is the folder of real HL7 v2 messages, ../shared/data/hl7v2 from the repository
// root. Tests that need it skip when it is absent.
func sharedDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "shared", "data", "hl7v2")
	if _, err := os.Stat(filepath.Join(dir, "README.md")); err != nil {
		t.Skipf("shared HL7 v2 samples not available (%v)", err)
	}
	return dir
}

// readmeRow is what the samples' README states about one file.
type readmeRow struct {
	msh9, version string
	messages      int
}

var readmeRowRE = regexp.MustCompile("(?m)^\\| `([^`]+\\.hl7)` \\| `([^`]+)` v([0-9.]+)(?:; (\\d+) messages)?")

// readmeRows parses the README's file table, an independent statement of each file's MSH-9 and
// MSH-12.
func readmeRows(t *testing.T, dir string) map[string]readmeRow {
	b, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]readmeRow{}
	for _, m := range readmeRowRE.FindAllStringSubmatch(string(b), -1) {
		n := 1
		if m[4] != "" {
			fmt.Sscan(m[4], &n)
		}
		rows[m[1]] = readmeRow{msh9: m[2], version: m[3], messages: n}
	}
	return rows
}

// nhsNumbers says where each sample carries an NHS number (or its status), per the README's
// "NHS conventions seen in the shared files".
var nhsNumbers = map[string]map[string]string{
	"nhsd-itk-adt-a28-1.hl7":          {"PID-3(1).1": "3333333333", "PID-3(1).4": "NHS", "PID-3(1).5": ""},
	"nhsd-itk-adt-a31-1.hl7":          {"PID-3.1": "3333333333", "PID-3.4": "NHS"},
	"nhsd-itk-adt-a04-1.hl7":          {"PID-3.1": "3333333333", "PID-3.4": "NHS"},
	"nhsd-itk-adt-a03-1.hl7":          {"PID-3.1": "3333333333", "PID-3.4": "NHS"},
	"inhealthcare-adt-a28-1.hl7":      {"PID-3(1).1": "8000002", "PID-3(1).4": "RMW00", "PID-3(2).1": "9990500002", "PID-3(2).4": "NHS", "PID-3(2).5": "NH", "PID-32": "NSTS02"},
	"hl7proxy-homerton-adt-a31-1.hl7": {"PID-19": "9999999999", "PID-32": "Trace in Progress", "PV1-4": "Emergency-A&E/Dental"},
	"pkb-adt-a13-1.hl7":               {"PID-3.1": "9999999999", "PID-3.4": "NHS", "PID-3.5": "NH"},
	"renalware-kings-oru-r01-1.hl7":   {"PID-2.1": "7179209791", "PID-2.2": "NHS"},
	"renalware-medway-adt-a05-1.hl7":  {"PID-2.1": "", "PID-2.2": "NSTS03", "PID-2.4": "NHS", "PID-2.5": "NHS", "PID-32": "NSTS03", "PID-3.5": "HOSP"},
	"renalware-barts-adt-a01-1.hl7":   {"PID-3.4": "RNJ 5C4 MRN", "PID-3.5": "MRN", "PID-3(2).1": ""},
	"simhosp-adt-a01-1.hl7":           {"PID-3(2).1": "2478684691", "PID-3(2).4": "NHSNBR", "PID-3(2).5": "NHSNMBR"},
	"nwgmsa-mft-oru-r01-1.hl7":        {"PID-3(1).4": "R0A", "PID-3(2).1": "9449305552", "PID-3(2).4": "NHS", "PID-3(2).5": "NH", "OBX-2": "ED"},
	"hapi-adt-a01-1.hl7":              {"PID-2.1": "9999999999"},
	"hapi-adt-a03-1.hl7":              {"PV1-3.11.1": "OSPEDALE MAGGIORE DI LODI", "PV1-3.11.2": "LODI", "PV1-3.9": "MED. 1 - ONCOLOGIA"},
}

// naiveControlID reads MSH-10 by plain string splitting, as a cross-check of the parser.
func naiveControlID(raw []byte) string {
	s := strings.TrimPrefix(string(raw), "\xEF\xBB\xBF")
	i := strings.Index(s, "MSH")
	line := s[i:]
	if k := strings.IndexAny(line, "\r\n"); k >= 0 {
		line = line[:k]
	}
	f := strings.Split(line, line[3:4])
	id := f[9]
	if k := strings.IndexByte(id, line[4]); k >= 0 {
		id = id[:k]
	}
	return strings.TrimSpace(id)
}

func TestSharedSamples(t *testing.T) {
	dir := sharedDir(t)
	rows := readmeRows(t, dir)
	files, err := filepath.Glob(filepath.Join(dir, "*.hl7"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	if len(rows) != len(files) {
		t.Errorf("README describes %d files, the folder holds %d", len(rows), len(files))
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			msgs, err := ParseBatch(raw)
			if err != nil {
				t.Fatalf("ParseBatch: %v", err)
			}
			row, ok := rows[name]
			if !ok {
				t.Fatalf("file not in README")
			}
			if len(msgs) != row.messages {
				t.Fatalf("%d messages, README says %d", len(msgs), row.messages)
			}
			single, err := Parse(raw)
			isBatch := bytes.Contains(raw, []byte("FHS")) || bytes.Contains(raw, []byte("\rFTS"))
			switch {
			case isBatch && !errors.Is(err, ErrBatch):
				t.Errorf("Parse of a batch file: err = %v, want ErrBatch", err)
			case !isBatch && err != nil:
				t.Fatalf("Parse: %v", err)
			case !isBatch && !bytes.Equal([]byte(dump(single)), []byte(dump(msgs[0]))):
				t.Error("Parse and ParseBatch disagree")
			}
			var golden strings.Builder
			for i, m := range msgs {
				msh9 := m.Type() + "^" + m.Trigger()
				if m.Structure() != "" {
					msh9 += "^" + m.Structure()
				}
				if msh9 != row.msh9 || m.Version() != row.version {
					t.Errorf("message %d: %s v%s, README says %s v%s", i+1, msh9, m.Version(), row.msh9, row.version)
				}
				if i == 0 {
					if want := naiveControlID(raw); m.ControlID() != want {
						t.Errorf("ControlID = %q, want %q", m.ControlID(), want)
					}
				}
				checkAckRoundTrip(t, m)
				golden.WriteString(dump(m))
			}
			for p, want := range nhsNumbers[name] {
				if got := msgs[0].Get(p); got != want {
					t.Errorf("Get(%q) = %q, want %q", p, got, want)
				}
			}
			compareGolden(t, filepath.Join("testdata", "golden", strings.TrimSuffix(name, ".hl7")+".txt"), golden.String())
		})
	}
}

// checkAckRoundTrip builds AA and AE acknowledgements of m and parses them back.
func checkAckRoundTrip(t *testing.T, m *Message) {
	t.Helper()
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, code := range []string{AA, AE} {
		var errs []AckError
		if code == AE {
			errs = []AckError{{Segment: "PID", Sequence: 1, Field: 3, Code: ErrorRequiredFieldMissing, Text: "NHS number | missing"}}
		}
		raw := Ack(m, code, errs, "ACK-1", now)
		a, err := Parse(raw)
		if err != nil {
			t.Fatalf("ack does not parse: %v\n%q", err, raw)
		}
		if a.Type() != "ACK" || a.Trigger() != m.Trigger() || a.ControlID() != "ACK-1" || a.Version() != m.Version() {
			t.Errorf("ack header %s^%s %s %s", a.Type(), a.Trigger(), a.ControlID(), a.Version())
		}
		if a.Get("MSA-1") != code || strings.TrimSpace(a.Get("MSA-2")) != m.ControlID() {
			t.Errorf("MSA = %q %q", a.Get("MSA-1"), a.Get("MSA-2"))
		}
		if a.Get("MSH-3") != m.Get("MSH-5") || a.Get("MSH-4") != m.Get("MSH-6") ||
			a.Get("MSH-5") != m.Get("MSH-3") || a.Get("MSH-6") != m.Get("MSH-4") {
			t.Error("ack does not swap sender and receiver")
		}
		if a.Charset != m.Charset || a.Delims != m.Delims {
			t.Errorf("ack charset %q delims %+v", a.Charset, a.Delims)
		}
		if code == AE {
			if versionAtLeast(m.Version(), 2, 5) {
				if a.Get("ERR-2") != "PID" || a.Get("ERR-2.3") != "3" || a.Get("ERR-3") != "101" || a.Get("ERR-8") != "NHS number | missing" {
					t.Errorf("ERR = %q", a.Segment("ERR").Raw())
				}
			} else if a.Get("ERR-1.1") != "PID" || a.Get("ERR-1.3") != "3" || a.Get("ERR-1.4") != "101" || a.Get("MSA-3") != "NHS number | missing" {
				t.Errorf("ERR = %q MSA = %q", a.Segment("ERR").Raw(), a.Segment("MSA").Raw())
			}
		}
	}
}

// dump renders every non-empty value of m with its full terser coordinates: a canonical form
// that changes whenever parsing does.
func dump(m *Message) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s^%s^%s v%s control=%q charset=%q delimiters=%q\n",
		m.Type(), m.Trigger(), m.Structure(), m.Version(), m.ControlID(), m.Charset,
		string(m.Delims.Field)+m.Delims.EncodingCharacters())
	occ := map[string]int{}
	for _, s := range m.Segments {
		occ[s.Name]++
		fmt.Fprintf(&b, "%s(%d)\n", s.Name, occ[s.Name])
		for f := 1; f <= s.Fields(); f++ {
			field := s.Field(f)
			if field.literal {
				fmt.Fprintf(&b, "  %d = %q\n", f, field.String())
				continue
			}
			for r, rep := range field.Reps() {
				for c, comp := range rep.Components() {
					for sc, sub := range comp.Subs() {
						if sub != "" {
							fmt.Fprintf(&b, "  %d(%d).%d.%d = %q\n", f, r+1, c+1, sc+1, sub)
						}
					}
				}
			}
		}
	}
	return b.String()
}

func compareGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden file missing (run go test -update): %v", err)
	}
	if string(want) != got {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) && i < len(wl); i++ {
			if gl[i] != wl[i] {
				t.Fatalf("%s differs at line %d:\n got: %s\nwant: %s", path, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("%s differs in length: got %d lines, want %d", path, len(gl), len(wl))
	}
}
