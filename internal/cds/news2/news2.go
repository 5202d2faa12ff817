// Package news2 scores the National Early Warning Score 2 (Royal College
// of Physicians, NEWS2, December 2017): the sub-score of each of the
// seven parameters from Chart 1, their aggregate, and the clinical risk
// from Chart 4. It is pure: it does no I/O and knows nothing of FHIR.
//
// Values are banded at the chart's precision: whole numbers for every
// parameter but temperature, which has one decimal place. The RCP states
// no rounding rule, so a measured value is rounded half-up to that
// precision first (RoundWhole, RoundTenths), as the hazard log records.
package news2

import (
	"errors"
	"fmt"
)

// Parameter names one of the seven NEWS2 parameters, in the order of
// the RCP chart.
type Parameter int

// The parameters. SpO2 is one parameter scored on Scale 1 or Scale 2,
// never both (RCP 2017 Chart 1).
const (
	RespirationRate Parameter = iota
	SpO2
	AirOrOxygen
	SystolicBP
	Pulse
	Consciousness
	Temperature
	numParameters
)

// Parameters lists every parameter in chart order.
var Parameters = []Parameter{RespirationRate, SpO2, AirOrOxygen, SystolicBP, Pulse, Consciousness, Temperature}

var parameterNames = [...]string{"respiration rate", "SpO2", "air or oxygen", "systolic blood pressure", "pulse", "consciousness", "temperature"}

func (p Parameter) String() string {
	if p < 0 || p >= numParameters {
		return fmt.Sprintf("Parameter(%d)", int(p))
	}
	return parameterNames[p]
}

// Scale is the SpO2 scoring scale.
type Scale int

const (
	// Scale1 is for every patient without a recorded clinical decision
	// for Scale 2.
	Scale1 Scale = 1
	// Scale2 is only for a patient whose prescribed target saturation is
	// 88–92% (typically hypercapnic respiratory failure), used under the
	// direction of a qualified clinician whose decision is recorded.
	Scale2 Scale = 2
)

// Level is the ACVPU level of consciousness.
type Level int

// The ACVPU levels. Confusion means new confusion, disorientation or
// agitation; confusion known at baseline is Alert. That is the
// clinician's judgement, recorded as an input, never inferred.
const (
	Alert Level = iota
	NewConfusion
	Voice
	Pain
	Unresponsive
)

func (l Level) String() string {
	switch l {
	case Alert:
		return "Alert"
	case NewConfusion:
		return "new Confusion"
	case Voice:
		return "responds to Voice"
	case Pain:
		return "responds to Pain"
	case Unresponsive:
		return "Unresponsive"
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

// Vitals is one complete set of observations at the chart's precision.
type Vitals struct {
	RespirationRate int   // breaths per minute
	SpO2            int   // per cent
	Scale           Scale // Scale1 unless a recorded decision says Scale2
	OnOxygen        bool  // supplemental oxygen
	SystolicBP      int   // mmHg
	Pulse           int   // beats per minute
	Consciousness   Level
	// TemperatureTenths is the temperature in tenths of a degree Celsius:
	// 36.1 °C is 361.
	TemperatureTenths int
}

// Plausible ranges: a value outside them is far more likely a unit or
// transcription error (a temperature in °F recorded as °C, SpO2 as a
// fraction) than a measurement, and Score refuses it rather than band it.
// They are wide on purpose: every value a living patient can have scores
// as the chart says.
const (
	MaxRespirationRate   = 100
	MaxSystolicBP        = 350
	MaxPulse             = 350
	MinTemperatureTenths = 200 // 20.0 °C
	MaxTemperatureTenths = 450 // 45.0 °C
)

// ErrImplausible reports a value that cannot be a measurement in the
// chart's units. Callers must not score the set, and should say which
// value was refused (the error names it) so that it can be corrected.
var ErrImplausible = errors.New("news2: implausible value")

// Result is the score of one set of vitals.
type Result struct {
	// Scores holds the sub-score of each parameter, indexed by Parameter.
	Scores [numParameters]int
	Scale  Scale
	Total  int
	// RedScore reports that a single parameter scored 3.
	RedScore bool
	Risk     Risk
}

// Score scores v. It fails with ErrImplausible for a value outside the
// plausible ranges, and for an unknown Scale or Level.
func Score(v Vitals) (Result, error) {
	if err := v.check(); err != nil {
		return Result{}, err
	}
	var r Result
	r.Scale = v.Scale
	r.Scores[RespirationRate] = scoreRespiration(v.RespirationRate)
	if v.Scale == Scale2 {
		r.Scores[SpO2] = scoreSpO2Scale2(v.SpO2, v.OnOxygen)
	} else {
		r.Scores[SpO2] = scoreSpO2Scale1(v.SpO2)
	}
	if v.OnOxygen {
		r.Scores[AirOrOxygen] = 2
	}
	r.Scores[SystolicBP] = scoreSystolic(v.SystolicBP)
	r.Scores[Pulse] = scorePulse(v.Pulse)
	if v.Consciousness != Alert {
		r.Scores[Consciousness] = 3
	}
	r.Scores[Temperature] = scoreTemperature(v.TemperatureTenths)
	for _, s := range r.Scores {
		r.Total += s
		if s == 3 {
			r.RedScore = true
		}
	}
	r.Risk = RiskOf(r.Total, r.RedScore)
	return r, nil
}

func (v Vitals) check() error {
	bad := func(what string, val any, unit string) error {
		return fmt.Errorf("%w: %s %v%s is outside the plausible range", ErrImplausible, what, val, unit)
	}
	switch {
	case v.RespirationRate < 0 || v.RespirationRate > MaxRespirationRate:
		return bad("respiration rate", v.RespirationRate, "/min")
	case v.SpO2 < 0 || v.SpO2 > 100:
		return bad("SpO2", v.SpO2, "%")
	case v.SystolicBP < 0 || v.SystolicBP > MaxSystolicBP:
		return bad("systolic blood pressure", v.SystolicBP, " mmHg")
	case v.Pulse < 0 || v.Pulse > MaxPulse:
		return bad("pulse", v.Pulse, "/min")
	case v.TemperatureTenths < MinTemperatureTenths || v.TemperatureTenths > MaxTemperatureTenths:
		return bad("temperature", fmt.Sprintf("%d.%d", v.TemperatureTenths/10, v.TemperatureTenths%10), " °C")
	case v.Scale != Scale1 && v.Scale != Scale2:
		return fmt.Errorf("%w: SpO2 scale %d is neither 1 nor 2", ErrImplausible, int(v.Scale))
	case v.Consciousness < Alert || v.Consciousness > Unresponsive:
		return fmt.Errorf("%w: consciousness level %d is not one of ACVPU", ErrImplausible, int(v.Consciousness))
	}
	return nil
}

// RCP 2017 Chart 1. Band edges are inclusive.

func scoreRespiration(r int) int {
	switch {
	case r <= 8:
		return 3
	case r <= 11:
		return 1
	case r <= 20:
		return 0
	case r <= 24:
		return 2
	}
	return 3
}

func scoreSpO2Scale1(s int) int {
	switch {
	case s <= 91:
		return 3
	case s <= 93:
		return 2
	case s <= 95:
		return 1
	}
	return 0
}

// scoreSpO2Scale2: 93% or more scores 0 on air but 1, 2 or 3 on oxygen.
func scoreSpO2Scale2(s int, onOxygen bool) int {
	switch {
	case s <= 83:
		return 3
	case s <= 85:
		return 2
	case s <= 87:
		return 1
	case s <= 92 || !onOxygen:
		return 0
	case s <= 94:
		return 1
	case s <= 96:
		return 2
	}
	return 3
}

func scoreSystolic(b int) int {
	switch {
	case b <= 90:
		return 3
	case b <= 100:
		return 2
	case b <= 110:
		return 1
	case b <= 219:
		return 0
	}
	return 3
}

func scorePulse(p int) int {
	switch {
	case p <= 40:
		return 3
	case p <= 50:
		return 1
	case p <= 90:
		return 0
	case p <= 110:
		return 1
	case p <= 130:
		return 2
	}
	return 3
}

func scoreTemperature(t int) int {
	switch {
	case t <= 350:
		return 3
	case t <= 360:
		return 1
	case t <= 380:
		return 0
	case t <= 390:
		return 1
	}
	return 2
}
