package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nhs-junction/junction/internal/testenv"
)

// TestRun runs every scenario with a tiny population and checks that the
// JSON lines are well formed and every ratio is value / baseline.
func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the server under load for several seconds")
	}
	backends := map[string]string{"sqlite": ""}
	if u := os.Getenv(testenv.PostgresEnv); u != "" {
		backends["postgres"] = u
	}
	for name, db := range backends {
		t.Run(name, func(t *testing.T) {
			var log bytes.Buffer
			rs, err := Run(context.Background(), Options{
				Database: db,
				Dir:      t.TempDir(),
				Patients: 2,
				Seed:     7,
				Clients:  4,
				Duration: 300 * time.Millisecond,
				Log:      &log,
			})
			t.Log(log.String())
			if err != nil {
				t.Fatal(err)
			}
			var table bytes.Buffer
			if err := WriteTable(&table, rs); err != nil {
				t.Fatal(err)
			}
			t.Log("\n" + table.String())
			checkLines(t, rs)
		})
	}
}

func checkLines(t *testing.T, rs []Result) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, rs); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %s: %v", sc.Text(), err)
		}
		name, _ := m["name"].(string)
		if name == "" || names[name] {
			t.Errorf("line %s: missing or repeated name", sc.Text())
		}
		names[name] = true
		if why, ok := m["skipped"].(string); ok {
			if why == "" || len(m) != 2 {
				t.Errorf("skipped line %s: want only name and a reason", sc.Text())
			}
			continue
		}
		v, okV := m["value"].(float64)
		if _, ok := m["unit"].(string); !ok || !okV || v < 0 {
			t.Errorf("line %s: want a value >= 0 and a unit", sc.Text())
		}
		base, hasBase := m["baseline"].(float64)
		ratio, hasRatio := m["ratio"].(float64)
		if hasBase != hasRatio {
			t.Errorf("line %s: baseline and ratio must come together", sc.Text())
		}
		if hasBase && base > 0 && math.Abs(ratio-v/base) > 1e-4*math.Max(1, v/base) {
			t.Errorf("line %s: ratio %v, want value/baseline = %v", sc.Text(), ratio, v/base)
		}
	}
	// Each scenario reports its headline figure with a baseline, or says
	// why it was skipped.
	for _, want := range [][]string{
		{"ingest.resources_per_s"}, {"ingest.disk_per_json_byte"},
		{"read.requests_per_s"}, {"read.p50"}, {"read.p99"},
		{"search.obs_by_code.p50", "search", "search.obs_by_code"},
		{"search.obs_by_top_code.p50", "search", "search.obs_by_top_code"},
		{"search.broad_code.p50", "search", "search.broad_code"},
		{"search.broad_date.p50", "search", "search.broad_date"},
		{"search.broad_quantity.p50", "search", "search.broad_quantity"},
		{"search.broad_type.p50", "search", "search.broad_type"},
		{"search.broad_code_sorted.p50", "search", "search.broad_code_sorted"},
		{"everything.p50", "everything"},
		{"everything.record_resources", "everything"},
		{"transaction.entries_per_s"},
	} {
		if !slices.ContainsFunc(want, func(n string) bool { return names[n] }) {
			t.Errorf("no line named %s", strings.Join(want, " or "))
		}
	}
	for _, r := range rs {
		if strings.HasSuffix(r.Name, ".errors") {
			t.Errorf("%s = %v: requests failed", r.Name, r.Value)
		}
	}
}

// TestPopulationQueryValues checks the values the broad and per-patient
// searches ask for against the generated files: the most common code,
// a recent year holding at least a tenth of the Observations (and the
// next year less than that), each patient's most frequent code and
// record size.
func TestPopulationQueryValues(t *testing.T) {
	pop, err := preparePopulation(context.Background(), t.TempDir(), 3, 5)
	if err != nil {
		t.Fatal(err)
	}
	codes, years := map[string]int{}, map[int]int{}
	total := 0
	for g := 1; g < pop.groups; g++ {
		recs, err := pop.readRaw(g)
		if err != nil {
			t.Fatal(err)
		}
		pat := pop.patients[g-1]
		if pat.resources != len(recs) {
			t.Errorf("patient %s: %d resources, the file has %d", pat.id, pat.resources, len(recs))
		}
		mine := map[string]int{}
		for _, r := range recs {
			if !strings.HasPrefix(r.key, "Observation/") {
				continue
			}
			var o struct {
				Code              struct{ Coding []coding }
				EffectiveDateTime string
			}
			if err := json.Unmarshal(r.body, &o); err != nil {
				t.Fatal(err)
			}
			c := o.Code.Coding[0].System + "|" + o.Code.Coding[0].Code
			codes[c]++
			mine[c]++
			var y int
			if _, err := fmt.Sscanf(o.EffectiveDateTime, "%4d", &y); err == nil {
				years[y]++
				total++
			}
		}
		if len(mine) == 0 || mine[pat.topCode] < slices.Max(slices.Collect(maps.Values(mine))) {
			t.Errorf("patient %s: top code %q (%d), counts %v", pat.id, pat.topCode, mine[pat.topCode], mine)
		}
	}
	if c := pop.commonCode(); c == "" || codes[c] < slices.Max(slices.Collect(maps.Values(codes))) {
		t.Errorf("common code %q (%d), counts %v", c, codes[c], codes)
	}
	y := pop.recentYear()
	from, after := 0, 0
	for yy, n := range years {
		if yy >= y {
			from += n
		}
		if yy > y {
			after += n
		}
	}
	if from*10 < total || after*10 >= total {
		t.Errorf("recent year %d: %d of %d Observations from it, %d after it", y, from, total, after)
	}
}
