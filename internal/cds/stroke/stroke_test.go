package stroke

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func answers(glucose float64, yes ...Item) Answers {
	var a Answers
	for _, it := range ROSIERItems {
		a.Set(it, false)
	}
	for _, it := range yes {
		a.Set(it, true)
	}
	a.GlucoseMmolL, a.HasGlucose = glucose, true
	return a
}

// TestROSIER checks the score of the ROSIER table (NHS-RULES.md §2.2)
// at its extremes and at the likely/unlikely boundary.
func TestROSIER(t *testing.T) {
	cases := []struct {
		name   string
		a      Answers
		score  int
		likely bool
	}{
		{"nothing", answers(5.5), 0, false},
		{"minimum -2", answers(5.5, LossOfConsciousness, Seizure), -2, false},
		{"maximum +5", answers(5.5, FacialWeakness, ArmWeakness, LegWeakness, Speech, VisualField), 5, true},
		{"one sign: +1", answers(5.5, Speech), 1, true},
		{"each positive item counts", answers(5.5, VisualField), 1, true},
		{"sign with seizure: 0", answers(5.5, ArmWeakness, Seizure), 0, false},
		{"two signs with syncope: +1", answers(5.5, FacialWeakness, ArmWeakness, LossOfConsciousness), 1, true},
		{"glucose exactly 3.5 is scored", answers(3.5, LegWeakness), 1, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ROSIER(c.a)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.score || StrokeLikely(got) != c.likely {
				t.Fatalf("ROSIER %d likely %v, want %d %v", got, StrokeLikely(got), c.score, c.likely)
			}
		})
	}
	// Every combination: the score is the positives minus the negatives.
	for mask := 0; mask < 1<<7; mask++ {
		var yes []Item
		want := 0
		for i, it := range ROSIERItems {
			if mask&(1<<i) != 0 {
				yes = append(yes, it)
				if i < 2 {
					want--
				} else {
					want++
				}
			}
		}
		if got, err := ROSIER(answers(6, yes...)); err != nil || got != want {
			t.Fatalf("items %v: %d, %v; want %d", yes, got, err, want)
		}
	}
}

func TestROSIERRefuses(t *testing.T) {
	a := answers(3.4, ArmWeakness)
	if _, err := ROSIER(a); !errors.Is(err, ErrHypoglycaemia) {
		t.Errorf("glucose 3.4: %v, want ErrHypoglycaemia", err)
	}
	a.HasGlucose = false
	if _, err := ROSIER(a); !errors.Is(err, ErrNoGlucose) {
		t.Errorf("no glucose: %v, want ErrNoGlucose", err)
	}
	a = answers(6, ArmWeakness)
	a.Answered[VisualField] = false
	if _, err := ROSIER(a); !errors.Is(err, ErrUnansweredItem) || !strings.Contains(err.Error(), "visual field") {
		t.Errorf("unanswered item: %v, want ErrUnansweredItem naming it", err)
	}
}

func TestFAST(t *testing.T) {
	var a Answers
	if pos, complete := FASTPositive(a); pos || complete {
		t.Error("nothing answered is positive or complete")
	}
	a.Set(FASTFace, false)
	a.Set(FASTArms, false)
	a.Set(FASTSpeech, false)
	if pos, complete := FASTPositive(a); pos || !complete {
		t.Error("three noes")
	}
	for _, it := range FASTItems {
		b := a
		b.Set(it, true)
		if pos, _ := FASTPositive(b); !pos {
			t.Errorf("%s alone is not positive", it)
		}
	}
}

// TestWindows checks the NICE TA264 and NG128 windows at their edges.
func TestWindows(t *testing.T) {
	onset := time.Date(2025, 3, 4, 8, 0, 0, 0, time.UTC)
	cases := []struct {
		after time.Duration
		open  [3]bool
	}{
		{0, [3]bool{true, true, true}},
		{4*time.Hour + 29*time.Minute, [3]bool{true, true, true}},
		{4*time.Hour + 30*time.Minute, [3]bool{false, true, true}},
		{6*time.Hour - time.Second, [3]bool{false, true, true}},
		{6 * time.Hour, [3]bool{false, false, true}},
		{24 * time.Hour, [3]bool{false, false, false}},
	}
	for _, c := range cases {
		ws := Windows(onset, onset.Add(c.after))
		for i, w := range ws {
			if (w.Remaining > 0) != c.open[i] {
				t.Errorf("%v after onset: %s open %v, want %v", c.after, w.Name, w.Remaining > 0, c.open[i])
			}
		}
	}
	if Windows(time.Time{}, onset) != nil {
		t.Error("windows without an onset")
	}
}

func TestAlert(t *testing.T) {
	onset := time.Date(2025, 3, 4, 8, 0, 0, 0, time.UTC)
	a := answers(6, ArmWeakness, Speech)
	a.Onset = onset
	msg := Alert(2, a, onset.Add(90*time.Minute))
	for _, want := range []string{"ROSIER +2", "Symptom onset 2025-03-04 08:00 UTC", "1h30m ago", "Thrombolysis (alteplase): 3h00m left", "4.5 hours",
		"Thrombectomy: 4h30m left", "24 hours", "within 1 hour"} {
		if !strings.Contains(msg, want) {
			t.Errorf("alert lacks %q: %s", want, msg)
		}
	}
	a.LastKnownWell = true
	if msg := Alert(2, a, onset.Add(5*time.Hour)); !strings.Contains(msg, "Last known well") || !strings.Contains(msg, "Thrombolysis (alteplase): window closed 0h30m ago") {
		t.Errorf("wake-up stroke alert: %s", msg)
	}
	a.Onset = time.Time{}
	if msg := Alert(2, a, onset); !strings.Contains(msg, "NOT recorded") {
		t.Errorf("alert without onset: %s", msg)
	}
}

func qr(items string) []byte {
	return []byte(fmt.Sprintf(`{"resourceType":"QuestionnaireResponse","questionnaire":%q,"status":"completed","subject":{"reference":"Patient/p"},"authored":"2025-03-04T09:00:00Z","item":[%s]}`, QuestionnaireURL, items))
}

func TestParseQuestionnaireResponse(t *testing.T) {
	b := func(link string, v bool) string {
		return fmt.Sprintf(`{"linkId":%q,"answer":[{"valueBoolean":%v}]}`, link, v)
	}
	items := strings.Join([]string{
		b("rosier-loss-of-consciousness", false), b("rosier-seizure", false), b("rosier-facial-weakness", true),
		`{"linkId":"limbs","item":[` + b("rosier-arm-weakness", true) + `,` + b("rosier-leg-weakness", false) + `]}`,
		b("rosier-speech", true), b("rosier-visual-field", false),
		`{"linkId":"capillary-glucose","answer":[{"valueQuantity":{"value":6.1,"system":"http://unitsofmeasure.org","code":"mmol/L"}}]}`,
		`{"linkId":"onset","answer":[{"valueDateTime":"2025-03-04T08:15:00Z"}]}`,
		b("fast-face", true),
	}, ",")
	r, err := ParseQuestionnaireResponse(qr(items))
	if err != nil {
		t.Fatal(err)
	}
	score, err := ROSIER(r.Answers)
	if err != nil || score != 3 {
		t.Fatalf("ROSIER %d, %v; want 3", score, err)
	}
	if r.Patient != "Patient/p" || r.Answers.Onset.Hour() != 8 || r.Answers.GlucoseMmolL != 6.1 {
		t.Fatalf("read %+v", r)
	}
	if pos, complete := FASTPositive(r.Answers); !pos || complete {
		t.Errorf("FAST positive %v complete %v", pos, complete)
	}
	for name, bad := range map[string]string{
		"string answer":   `{"linkId":"rosier-speech","answer":[{"valueString":"yes"}]}`,
		"glucose in mg":   `{"linkId":"capillary-glucose","answer":[{"valueQuantity":{"value":110,"system":"http://unitsofmeasure.org","code":"mg/dL"}}]}`,
		"date-only onset": `{"linkId":"onset","answer":[{"valueDateTime":"2025-03-04"}]}`,
		"two answers":     `{"linkId":"rosier-speech","answer":[{"valueBoolean":true},{"valueBoolean":false}]}`,
	} {
		if _, err := ParseQuestionnaireResponse(qr(bad)); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	if _, err := ParseQuestionnaireResponse([]byte(`{"resourceType":"QuestionnaireResponse","questionnaire":"http://example.org/other"}`)); err == nil {
		t.Error("another questionnaire accepted")
	}
}

func TestFromObservations(t *testing.T) {
	o := func(code string, at string, value string) []byte {
		return []byte(fmt.Sprintf(`{"resourceType":"Observation","status":"final","code":{"coding":[{"system":%q,"code":%q}]},"effectiveDateTime":%q,%s}`, ItemSystem, code, at, value))
	}
	var bodies [][]byte
	for link := range LinkIDs {
		if strings.HasPrefix(link, "rosier-") {
			bodies = append(bodies, o(link, "2025-03-04T09:00:00Z", `"valueBoolean":false`))
		}
	}
	bodies = append(bodies,
		o("rosier-arm-weakness", "2025-03-04T09:05:00Z", `"valueBoolean":true`), // later: wins
		o("rosier-speech", "2025-03-04T08:55:00Z", `"valueBoolean":true`),       // earlier: loses
		[]byte(`{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"14743-9"}]},"effectiveDateTime":"2025-03-04T09:00:00Z","valueQuantity":{"value":5.2,"system":"http://unitsofmeasure.org","code":"mmol/L"}}`),
		[]byte(`{"resourceType":"Observation","status":"entered-in-error","code":{"coding":[{"system":"`+ItemSystem+`","code":"rosier-leg-weakness"}]},"effectiveDateTime":"2025-03-04T09:10:00Z","valueBoolean":true}`),
	)
	a, err := FromObservations(bodies)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := ROSIER(a); err != nil || s != 1 {
		t.Fatalf("ROSIER %d, %v; want 1 (arm weakness only)", s, err)
	}
}
