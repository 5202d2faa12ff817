// Package stroke scores the stroke recognition tools FAST and ROSIER and
// states the time-critical windows of NICE NG128 and TA264 for an alert.
// It is pure: reading the answers from FHIR is in fhir.go.
//
// Sources (NHS-RULES.md §2): ROSIER, Nor AM et al., Lancet Neurol
// 2005;4:727–34, and the Newcastle upon Tyne Hospitals ROSIER form; FAST,
// nhs.uk "act FAST"; NICE TA264 (alteplase within 4.5 hours of onset),
// NICE NG128 §1.4 (thrombectomy within 6 hours; 6 to 24 hours for selected
// patients with salvageable tissue on imaging) and §1.2 (brain imaging
// within 1 hour when thrombolysis or thrombectomy may be indicated).
package stroke

import (
	"errors"
	"fmt"
	"time"
)

// Item is one ROSIER or FAST question.
type Item int

// The ROSIER items, then the FAST items.
const (
	LossOfConsciousness Item = iota // loss of consciousness or syncope: −1
	Seizure                         // seizure activity: −1
	FacialWeakness                  // asymmetric facial weakness: +1
	ArmWeakness                     // asymmetric arm weakness: +1
	LegWeakness                     // asymmetric leg weakness: +1
	Speech                          // speech disturbance (dysarthria or dysphasia): +1
	VisualField                     // visual field defect: +1
	FASTFace                        // FAST: has the face fallen on one side?
	FASTArms                        // FAST: can they not raise both arms and keep them there?
	FASTSpeech                      // FAST: is their speech slurred?
	numItems
)

// ROSIERItems are the seven ROSIER items in the form's order.
var ROSIERItems = []Item{LossOfConsciousness, Seizure, FacialWeakness, ArmWeakness, LegWeakness, Speech, VisualField}

// FASTItems are the three FAST signs.
var FASTItems = []Item{FASTFace, FASTArms, FASTSpeech}

var itemNames = [...]string{"loss of consciousness or syncope", "seizure activity", "asymmetric facial weakness",
	"asymmetric arm weakness", "asymmetric leg weakness", "speech disturbance", "visual field defect",
	"FAST face", "FAST arms", "FAST speech"}

func (i Item) String() string {
	if i < 0 || i >= numItems {
		return fmt.Sprintf("Item(%d)", int(i))
	}
	return itemNames[i]
}

// Answers are the recorded answers. Answered[i] reports that item i was
// answered; Yes[i] is the answer.
type Answers struct {
	Answered, Yes [numItems]bool
	// GlucoseMmolL is the capillary blood glucose in mmol/L; HasGlucose
	// reports that one was recorded.
	GlucoseMmolL float64
	HasGlucose   bool
	// Onset is symptom onset or, when that is not known (including on
	// waking), when the patient was last known well; zero when not
	// recorded. LastKnownWell reports that Onset is the latter.
	Onset         time.Time
	LastKnownWell bool
}

// Set records the answer to item.
func (a *Answers) Set(item Item, yes bool) {
	a.Answered[item], a.Yes[item] = true, yes
}

// HypoglycaemiaThreshold is the capillary glucose (mmol/L) below which
// ROSIER must not be scored: treat the hypoglycaemia and reassess once
// glucose is normal (Newcastle ROSIER form).
const HypoglycaemiaThreshold = 3.5

// Errors that stop ROSIER from being scored. Each is a reason to show the
// clinician, never a score of zero: a low or missing score must not close
// the stroke pathway.
var (
	ErrNoGlucose      = errors.New("stroke: ROSIER needs a capillary blood glucose first")
	ErrHypoglycaemia  = errors.New("stroke: blood glucose is below 3.5 mmol/L: treat urgently and reassess ROSIER once glucose is normal")
	ErrUnansweredItem = errors.New("stroke: a ROSIER item is unanswered")
)

// ROSIER returns the ROSIER score (−2 to +5). It refuses to score without
// a glucose, with a glucose below HypoglycaemiaThreshold, or with any
// item unanswered (the error names it).
func ROSIER(a Answers) (int, error) {
	if !a.HasGlucose {
		return 0, ErrNoGlucose
	}
	if a.GlucoseMmolL < HypoglycaemiaThreshold {
		return 0, ErrHypoglycaemia
	}
	score := 0
	for _, it := range ROSIERItems {
		if !a.Answered[it] {
			return 0, fmt.Errorf("%w: %s", ErrUnansweredItem, it)
		}
		if !a.Yes[it] {
			continue
		}
		if it == LossOfConsciousness || it == Seizure {
			score--
		} else {
			score++
		}
	}
	return score, nil
}

// FASTPositive reports whether any FAST sign is present (call 999), and
// whether every sign was answered. FAST is a binary screen with no score.
func FASTPositive(a Answers) (positive, complete bool) {
	complete = true
	for _, it := range FASTItems {
		positive = positive || (a.Answered[it] && a.Yes[it])
		complete = complete && a.Answered[it]
	}
	return positive, complete
}

// StrokeLikely reports whether a ROSIER score means stroke is likely
// (above 0). A score of 0 or less makes stroke unlikely but does not
// exclude it: the form says to discuss such patients with the stroke team.
func StrokeLikely(score int) bool { return score > 0 }

// The windows from onset (or last known well).
const (
	ImagingWindow              = time.Hour // NG128 1.2: CT within 1 hour when treatment may be indicated (from arrival; shown from now)
	ThrombolysisWindow         = 4*time.Hour + 30*time.Minute
	ThrombectomyWindow         = 6 * time.Hour
	ThrombectomySelectedWindow = 24 * time.Hour
)

// Window is one treatment window and where now falls in it.
type Window struct {
	Name      string
	Rule      string // the source's wording, paraphrased
	Closes    time.Time
	Remaining time.Duration // negative: closed
}

// Windows returns the treatment windows measured from onset, as of now.
// It returns none when the onset is not recorded: the alert must then say
// that the windows cannot be timed.
func Windows(onset, now time.Time) []Window {
	if onset.IsZero() {
		return nil
	}
	w := func(name, rule string, d time.Duration) Window {
		return Window{Name: name, Rule: rule, Closes: onset.Add(d), Remaining: onset.Add(d).Sub(now)}
	}
	return []Window{
		w("Thrombolysis (alteplase)", "start as early as possible and within 4.5 hours of onset, once haemorrhage is excluded on imaging (NICE TA264)", ThrombolysisWindow),
		w("Thrombectomy", "offer as soon as possible and within 6 hours of onset for a confirmed proximal anterior circulation large-vessel occlusion (NICE NG128 1.4)", ThrombectomyWindow),
		w("Thrombectomy (selected patients)", "consider from 6 up to 24 hours since last known well with salvageable tissue on CT perfusion or diffusion MRI (NICE NG128 1.4)", ThrombectomySelectedWindow),
	}
}

// Alert is the time-critical message for a ROSIER above 0.
func Alert(score int, a Answers, now time.Time) string {
	msg := fmt.Sprintf("ROSIER %+d: stroke is likely. Immediate non-contrast CT brain (next slot, within 1 hour) if thrombolysis or thrombectomy may be indicated (NICE NG128). ", score)
	if a.Onset.IsZero() {
		return msg + "Onset time is NOT recorded: establish symptom onset or when the patient was last known well; the treatment windows cannot be timed without it."
	}
	what := "Symptom onset"
	if a.LastKnownWell {
		what = "Last known well"
	}
	msg += fmt.Sprintf("%s %s (%s ago). ", what, a.Onset.UTC().Format("2006-01-02 15:04 MST"), hm(now.Sub(a.Onset)))
	for _, w := range Windows(a.Onset, now) {
		if w.Remaining > 0 {
			msg += fmt.Sprintf("%s: %s left (closes %s): %s. ", w.Name, hm(w.Remaining), w.Closes.UTC().Format("15:04 MST"), w.Rule)
		} else {
			msg += fmt.Sprintf("%s: window closed %s ago. ", w.Name, hm(-w.Remaining))
		}
	}
	return msg
}

// hm renders a duration as hours and minutes, rounded down to the minute.
func hm(d time.Duration) string {
	if d < 0 {
		return "-" + hm(-d)
	}
	d = d.Truncate(time.Minute)
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}
