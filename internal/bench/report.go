package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"text/tabwriter"
)

// Result is one figure of a run. Ratio is Value / Baseline whenever there
// is a baseline: above 1 is better for rates, below 1 for latencies and
// sizes. A skipped measurement has only Name and Skipped.
type Result struct {
	Name     string
	Value    float64
	Unit     string
	Baseline float64
	// HasBaseline reports that Baseline (and so Ratio) is set.
	HasBaseline bool
	Ratio       float64
	// Skipped, when not empty, says why the measurement was not made.
	Skipped string
}

// MarshalJSON writes {"name", "value", "unit", "baseline", "ratio"},
// leaving out baseline and ratio when there is no baseline, and writes
// {"name", "skipped"} for a skipped measurement.
func (r Result) MarshalJSON() ([]byte, error) {
	if r.Skipped != "" {
		return json.Marshal(struct {
			Name    string `json:"name"`
			Skipped string `json:"skipped"`
		}{r.Name, r.Skipped})
	}
	type line struct {
		Name     string   `json:"name"`
		Value    float64  `json:"value"`
		Unit     string   `json:"unit"`
		Baseline *float64 `json:"baseline,omitempty"`
		Ratio    *float64 `json:"ratio,omitempty"`
	}
	l := line{Name: r.Name, Value: round(r.Value), Unit: r.Unit}
	if r.HasBaseline {
		b, q := round(r.Baseline), round(r.Ratio)
		l.Baseline, l.Ratio = &b, &q
	}
	return json.Marshal(l)
}

// round keeps six significant digits: more is noise on any machine.
func round(v float64) float64 {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	f, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 6, 64), 64)
	return f
}

func measured(name string, value float64, unit string) Result {
	return Result{Name: name, Value: value, Unit: unit}
}

// against returns a result with its baseline and ratio.
func against(name string, value float64, unit string, baseline float64) Result {
	r := Result{Name: name, Value: value, Unit: unit, Baseline: baseline, HasBaseline: true}
	if baseline != 0 {
		r.Ratio = value / baseline
	}
	return r
}

func skipped(name, why string) Result { return Result{Name: name, Skipped: why} }

// WriteJSON writes one JSON object per line.
func WriteJSON(w io.Writer, rs []Result) error {
	enc := json.NewEncoder(w)
	for _, r := range rs {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}

// WriteTable writes the results as an aligned table.
func WriteTable(w io.Writer, rs []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "measure\tvalue\tunit\tbaseline\tratio\t\n")
	for _, r := range rs {
		if r.Skipped != "" {
			fmt.Fprintf(tw, "%s\t-\t\t\t\tskipped: %s\n", r.Name, r.Skipped)
			continue
		}
		base, ratio := "", ""
		if r.HasBaseline {
			base, ratio = num(r.Baseline), strconv.FormatFloat(r.Ratio, 'f', 3, 64)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", r.Name, num(r.Value), r.Unit, base, ratio)
	}
	return tw.Flush()
}

// num formats a figure with the precision its size deserves.
func num(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1 || a == 0:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
}
