package synth

import "math"

// vitals is one set of NEWS2 inputs as measured at the bedside.
type vitals struct {
	resp        int     // breaths/min
	spo2        int     // %
	onOxygen    bool    // supplemental oxygen
	systolic    int     // mmHg
	diastolic   int     // mmHg
	pulse       int     // beats/min
	acvpu       byte    // 'A', 'C', 'V', 'P' or 'U'
	temperature float64 // °C, one decimal
}

// news2Scores are the eight NEWS2 sub-scores on SpO2 Scale 1 and their
// total (RCP NEWS2 2017, Chart 1; NHS-RULES.md §1.1). The generator uses
// Scale 1 for everyone: Scale 2 must be a recorded clinical decision, and
// inventing one would teach consumers to infer it.
type news2Scores struct {
	resp, spo2, air, systolic, pulse, consciousness, temperature int
}

func (s news2Scores) total() int {
	return s.resp + s.spo2 + s.air + s.systolic + s.pulse + s.consciousness + s.temperature
}

func scoreNEWS2(v vitals) news2Scores {
	var s news2Scores
	switch r := v.resp; {
	case r <= 8:
		s.resp = 3
	case r <= 11:
		s.resp = 1
	case r <= 20:
		s.resp = 0
	case r <= 24:
		s.resp = 2
	default:
		s.resp = 3
	}
	switch o := v.spo2; {
	case o <= 91:
		s.spo2 = 3
	case o <= 93:
		s.spo2 = 2
	case o <= 95:
		s.spo2 = 1
	}
	if v.onOxygen {
		s.air = 2
	}
	switch b := v.systolic; {
	case b <= 90:
		s.systolic = 3
	case b <= 100:
		s.systolic = 2
	case b <= 110:
		s.systolic = 1
	case b <= 219:
		s.systolic = 0
	default:
		s.systolic = 3
	}
	switch p := v.pulse; {
	case p <= 40:
		s.pulse = 3
	case p <= 50:
		s.pulse = 1
	case p <= 90:
		s.pulse = 0
	case p <= 110:
		s.pulse = 1
	case p <= 130:
		s.pulse = 2
	default:
		s.pulse = 3
	}
	if v.acvpu != 'A' {
		s.consciousness = 3
	}
	// Banded on the value rounded half-up to one decimal, the chart's
	// precision; tenths are compared as integers so 36.05 cannot fall
	// between bands through binary rounding.
	switch t := int(math.Floor(v.temperature*10 + 0.5)); {
	case t <= 350:
		s.temperature = 3
	case t <= 360:
		s.temperature = 1
	case t <= 380:
		s.temperature = 0
	case t <= 390:
		s.temperature = 1
	default:
		s.temperature = 2
	}
	return s
}

// drawVitals draws one set of observations for a patient whose acute
// illness severity is sev (0 well, 1 very unwell). Values move together
// as they do in deterioration: faster breathing, lower saturation, faster
// pulse, lower pressure, fever.
func drawVitals(r *rng, sev float64) vitals {
	if sev < 0 {
		sev = 0
	}
	v := vitals{
		resp:        clampInt(int(math.Round(r.normal(15+sev*10, 2))), 6, 40),
		spo2:        clampInt(int(math.Round(r.normal(97.5-sev*7, 1.2))), 75, 100),
		systolic:    clampInt(int(math.Round(r.normal(128-sev*30, 14))), 70, 230),
		pulse:       clampInt(int(math.Round(r.normal(74+sev*35, 9))), 35, 170),
		temperature: round1(r.normal(36.8+sev*1.6, 0.35)),
		acvpu:       'A',
	}
	v.diastolic = clampInt(v.systolic-r.between(35, 55), 40, 130)
	v.onOxygen = sev > 0.45 && r.chance(sev)
	if v.onOxygen {
		v.spo2 = clampInt(v.spo2+r.between(2, 5), 80, 100)
	}
	if sev > 0.6 && r.chance(sev-0.5) {
		v.acvpu = "CVPU"[r.intn(4)]
		if r.chance(0.6) {
			v.acvpu = 'C'
		}
	}
	return v
}

func clampInt(x, lo, hi int) int {
	if x < lo {
		return lo
	}
	if x > hi {
		return hi
	}
	return x
}

var acvpuCodes = map[byte]term{
	'A': {"248234008", "Mentally alert"},
	'C': {"130987000", "Acute confusion"},
	'V': {"300202002", "Responds to voice"},
	'P': {"450847001", "Responds to pain"},
	'U': {"422768004", "Unresponsive"},
}

// Codes for the NEWS2 observations (NHS-RULES.md §1.4).
var (
	codeResp = concept{Coding: []coding{{System: loinc, Code: "9279-1", Display: "Respiratory rate"},
		{System: sct, Code: "86290005", Display: "Respiratory rate"}}}
	codeSpO2 = concept{Coding: []coding{{System: loinc, Code: "59408-5", Display: "Oxygen saturation in Arterial blood by Pulse oximetry"},
		{System: loinc, Code: "2708-6", Display: "Oxygen saturation in Arterial blood"},
		{System: sct, Code: "103228002", Display: "Hemoglobin saturation with oxygen"}}}
	codeOnAir    = ccv(sct, "722742002", "Breathing room air")
	codeOnOxygen = ccv(sct, "371825009", "Patient on oxygen")
	codeBP       = concept{Coding: []coding{{System: loinc, Code: "85354-9", Display: "Blood pressure panel with all children optional"},
		{System: sct, Code: "75367002", Display: "Blood pressure"}}}
	codeSystolic = concept{Coding: []coding{{System: loinc, Code: "8480-6", Display: "Systolic blood pressure"},
		{System: sct, Code: "72313002", Display: "Systolic arterial pressure"}}}
	codeDiastolic = concept{Coding: []coding{{System: loinc, Code: "8462-4", Display: "Diastolic blood pressure"},
		{System: sct, Code: "1091811000000102", Display: "Diastolic arterial pressure"}}}
	codePulse = concept{Coding: []coding{{System: loinc, Code: "8867-4", Display: "Heart rate"},
		{System: sct, Code: "364075005", Display: "Heart rate"}}}
	codeACVPU = ccv(sct, "1104441000000107", "ACVPU (Alert Confusion Voice Pain Unresponsive) scale score")
	codeTemp  = concept{Coding: []coding{{System: loinc, Code: "8310-5", Display: "Body temperature"},
		{System: sct, Code: "276885007", Display: "Core body temperature"}}}
	codeNEWS2 = ccv(sct, "1104051000000101", "Royal College of Physicians National Early Warning Score (NEWS) 2 total score")

	codeSubResp     = subScore("1104301000000104", "NEWS2 respiration rate score")
	codeSubSpO2     = subScore("1104311000000102", "NEWS2 SpO2 scale 1 score")
	codeSubAir      = subScore("1104331000000105", "NEWS2 air or oxygen score")
	codeSubSystolic = subScore("1104341000000101", "NEWS2 systolic blood pressure score")
	codeSubPulse    = subScore("1104351000000103", "NEWS2 pulse score")
	codeSubCons     = subScore("1104361000000100", "NEWS2 consciousness score")
	codeSubTemp     = subScore("1104371000000107", "NEWS2 temperature score")

	catVitals = []concept{ccv(obsCat, "vital-signs", "Vital Signs")}
	catLab    = []concept{ccv(obsCat, "laboratory", "Laboratory")}
	catSurvey = []concept{ccv(obsCat, "survey", "Survey")}
)

// subScore codes a NEWS2 sub-score. The codes are from the NHS NEWS2 FHIR
// guidance; their SNOMED CT descriptions were not available to check, so
// the coding carries no display and the words go in text instead.
func subScore(code, text string) concept {
	return concept{Coding: []coding{{System: sct, Code: code}}, Text: text}
}
