package news2obs

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/nhs-junction/junction/internal/cds/news2"
)

// Window is how far apart the inputs of one set may be taken: all seven
// within 15 minutes of each other.
const Window = 15 * time.Minute

// A set is anchored at the time an input was taken, T, and holds, for
// each parameter, the latest input taken in [T − Window, T] (of two taken
// at the same moment, the one stored later). So every recorded vital sign
// that completes a set, or brings a newer value into one, gives a NEWS2
// from the most recent value of each parameter taken within the 15
// minutes before it. The set depends only on the stored inputs, never on
// the order they were written in, so recomputing it after a change gives
// the same answer as computing it afresh.

// Set is the inputs of one patient anchored at Time.
type Set struct {
	Patient string
	Time    time.Time
	// Inputs holds the chosen input of each parameter, indexed by
	// news2.Parameter; nil when the window has none.
	Inputs [len(parameterCodes)]*Input
}

// SetAt returns the set of patient anchored at t, from inputs (which may
// include other patients' and times'); ok is false when no input of the
// patient was taken at t, so t anchors no set.
func SetAt(inputs []Input, patient string, t time.Time) (s Set, ok bool) {
	s = Set{Patient: patient, Time: t}
	for i := range inputs {
		in := &inputs[i]
		if in.Patient != patient || in.Time.After(t) || in.Time.Before(t.Add(-Window)) {
			continue
		}
		ok = ok || in.Time.Equal(t)
		cur := s.Inputs[in.Param]
		if cur == nil || in.Time.After(cur.Time) || (in.Time.Equal(cur.Time) && in.Seq > cur.Seq) {
			s.Inputs[in.Param] = in
		}
	}
	return s, ok
}

// Complete reports whether the set has an input for every parameter.
func (s Set) Complete() bool {
	for _, in := range s.Inputs {
		if in == nil {
			return false
		}
	}
	return true
}

// Vitals returns the set's values for news2.Score on scale, or the first
// input problem. The set must be complete.
func (s Set) Vitals(scale news2.Scale) (news2.Vitals, string) {
	for _, in := range s.Inputs {
		if in.Problem != "" {
			return news2.Vitals{}, in.Problem
		}
	}
	in := s.Inputs
	return news2.Vitals{
		RespirationRate:   in[news2.RespirationRate].Whole,
		SpO2:              in[news2.SpO2].Whole,
		Scale:             scale,
		OnOxygen:          in[news2.AirOrOxygen].OnOxygen,
		SystolicBP:        in[news2.SystolicBP].Whole,
		Pulse:             in[news2.Pulse].Whole,
		Consciousness:     in[news2.Consciousness].Level,
		TemperatureTenths: in[news2.Temperature].Tenths,
	}, ""
}

// IDPrefix starts the id of every NEWS2 Observation Junction derives.
const IDPrefix = "news2-"

// ID is the id of the NEWS2 Observation of the set of patient anchored
// at t: the same set always has the same id, so a recomputation is a new
// version of the same resource. 40 hex digits of SHA-256 keep it unique
// and within the 64 characters of an id.
func ID(patient string, t time.Time) string {
	h := sha256.Sum256([]byte(patient + "|" + t.UTC().Format(time.RFC3339Nano)))
	return IDPrefix + hex.EncodeToString(h[:20])
}
