package hooks

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/nhs-junction/junction/internal/cds/news2"
	"github.com/nhs-junction/junction/internal/cds/news2obs"
	"github.com/nhs-junction/junction/internal/cds/stroke"
)

// The built-in services' ids.
const (
	NEWS2ServiceID          = "junction-news2"
	StrokeServiceID         = "junction-stroke"
	EncounterStartServiceID = "junction-encounter-start"
)

const (
	news2Template  = "Observation?subject=Patient/{{context.patientId}}&code=http://snomed.info/sct|" + news2obs.CodeNEWS2 + "&_sort=-date&_count=1"
	rosierTemplate = "QuestionnaireResponse?subject=Patient/{{context.patientId}}&questionnaire=" + stroke.QuestionnaireURL + "&_sort=-authored&_count=10"
)

// Builtin returns the built-in services: NEWS2 and stroke recognition on
// patient-view, both again on encounter-start (the moment a clinician
// takes the patient on), and the duplicate-order checks on order-select
// and order-sign.
func Builtin() []Service {
	return append([]Service{
		{
			Definition: Definition{
				Hook: "patient-view", ID: NEWS2ServiceID, Title: "NEWS2 early warning",
				Description: "The patient's latest NEWS2 (RCP 2017), its clinical risk and the escalation the RCP chart sets for it, and whether observations are overdue.",
				Prefetch: map[string]string{
					"patient": "Patient/{{context.patientId}}",
					"news2":   news2Template,
				},
			},
			Cards: news2Cards,
		},
		{
			Definition: Definition{
				Hook: "patient-view", ID: StrokeServiceID, Title: "Stroke recognition (ROSIER, FAST)",
				Description: "A time-critical alert when the patient's latest ROSIER in the last 24 hours is above 0, with the onset time and the NICE TA264 and NG128 treatment windows.",
				Prefetch: map[string]string{
					"patient": "Patient/{{context.patientId}}",
					"rosier":  rosierTemplate,
				},
			},
			Cards: strokeCards,
		},
		{
			Definition: Definition{
				Hook: HookEncounterStart, ID: EncounterStartServiceID, Title: "NEWS2 and stroke alert at the start of an encounter",
				Description: "At the start of an encounter: the patient's latest NEWS2 (RCP 2017) with its clinical risk and escalation, and any stroke alert (ROSIER above 0 in the last 24 hours) still open, with its NICE TA264 and NG128 treatment windows.",
				Prefetch: map[string]string{
					"patient":   "Patient/{{context.patientId}}",
					"encounter": "Encounter/{{context.encounterId}}",
					"news2":     news2Template,
					"rosier":    rosierTemplate,
				},
			},
			Cards: encounterStartCards,
		},
	}, duplicateServices()...)
}

// encounterStartCards are the NEWS2 and stroke cards together. The
// encounter must be the patient's (checked on the prefetch), and one
// that does not exist or that the caller may not see is refused: the
// cards would otherwise be shown against an encounter the user cannot
// open.
func encounterStartCards(ctx context.Context, d Data) ([]Card, error) {
	if enc := d.Prefetch["encounter"]; len(enc) == 0 || string(enc) == "null" {
		return nil, errorf(412, "Encounter/%s does not exist or may not be read", d.EncounterID)
	}
	if err := checkPatient(d.Prefetch["encounter"], d.PatientID); err != nil {
		return nil, errorf(400, "context.encounterId: %v", err)
	}
	news, err := news2Cards(ctx, d)
	if err != nil {
		return nil, err
	}
	str, err := strokeCards(ctx, d)
	if err != nil {
		return nil, err
	}
	// The stroke alert is time-critical: it comes first.
	return append(str, news...), nil
}

// entries returns the resources of a prefetched searchset Bundle, or the
// resource itself.
func entries(raw json.RawMessage) []json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var b struct {
		ResourceType string
		Entry        []struct {
			Resource json.RawMessage
			Search   *struct{ Mode string }
		}
	}
	if json.Unmarshal(raw, &b) != nil {
		return nil
	}
	if b.ResourceType != "Bundle" {
		return []json.RawMessage{raw}
	}
	var out []json.RawMessage
	for _, e := range b.Entry {
		if e.Search != nil && e.Search.Mode == "outcome" || len(e.Resource) == 0 {
			continue
		}
		out = append(out, e.Resource)
	}
	return out
}

var news2Source = Source{Label: "NEWS2 (Royal College of Physicians, 2017), calculated by Junction",
	URL: "https://www.rcp.ac.uk/improving-care/resources/national-early-warning-score-news-2/"}

// overdueAfter is when a NEWS2 is stale: the longest interval of the
// minimum monitoring frequency RCP Chart 4 sets for its risk (12-hourly
// for 0; 4–6-hourly for 1–4, taken at 4 hours, the safer end; hourly for
// a red score or 5–6; continuous monitoring for 7 or more, for which an
// hour without a new score is already overdue).
func overdueAfter(total int, r news2.Risk) time.Duration {
	switch {
	case r >= news2.RiskLowMedium:
		return time.Hour
	case total == 0:
		return 12 * time.Hour
	}
	return 4 * time.Hour
}

type news2Obs struct {
	ID                string
	Status            string
	EffectiveDateTime string
	ValueQuantity     *struct{ Value json.Number }
	DataAbsentReason  json.RawMessage
	Interpretation    []struct {
		Coding []struct{ System, Code string }
	}
	Component []struct {
		Code struct {
			Coding []struct{ System, Code, Display string }
		}
		ValueQuantity *struct{ Value json.Number }
	}
	Note []struct{ Text string }
}

func news2Cards(_ context.Context, d Data) ([]Card, error) {
	all := entries(d.Prefetch["news2"])
	if len(all) == 0 {
		return nil, nil
	}
	var o news2Obs
	if err := json.Unmarshal(all[0], &o); err != nil {
		return nil, fmt.Errorf("news2 card: %w", err)
	}
	at, err := time.Parse(time.RFC3339Nano, o.EffectiveDateTime)
	if err != nil {
		return []Card{{Summary: "The latest NEWS2 has no time it was taken: check the record", Indicator: "warning", Source: news2Source}}, nil
	}
	when := at.UTC().Format("2006-01-02 15:04 MST")
	age := d.Now.Sub(at)
	if o.ValueQuantity == nil {
		notes := ""
		for _, n := range o.Note {
			notes += n.Text + "\n\n"
		}
		return []Card{{Summary: "NEWS2 could not be calculated for the observations of " + when, Indicator: "warning", Source: news2Source,
			Detail: notes + "Until it is corrected there is no early warning score for this patient: assess the patient clinically."}}, nil
	}
	total, err := o.ValueQuantity.Value.Int64()
	if err != nil || total < 0 || total > 20 {
		return []Card{{Summary: "The latest NEWS2 has an impossible total: check the record", Indicator: "warning", Source: news2Source}}, nil
	}
	risk, known := news2.Risk(0), false
	for _, in := range o.Interpretation {
		for _, c := range in.Coding {
			if c.System == news2obs.RiskSystem {
				risk, known = news2.ParseRisk(c.Code)
			}
		}
	}
	var detail strings.Builder
	if !known {
		// A NEWS2 recorded without Junction's risk: the red score is not
		// known, so the risk is the total's band, and the card says so.
		risk = news2.RiskOf(int(total), false)
		detail.WriteString("This score was not calculated by Junction: whether a single parameter scored 3 is unknown, so the risk shown is from the total alone.\n\n")
	}
	monitoring, response := news2.Response(int(total), risk)
	indicator := map[news2.Risk]string{news2.RiskLow: "info", news2.RiskLowMedium: "warning", news2.RiskMedium: "critical", news2.RiskHigh: "critical"}[risk]
	summary := fmt.Sprintf("NEWS2 %d: %s, at %s", total, strings.ToLower(risk.Display()), when)
	fmt.Fprintf(&detail, "**Response (RCP NEWS2 Chart 4):** %s\n\n**Monitoring:** %s.\n\n", response, monitoring)
	if len(o.Component) > 0 {
		detail.WriteString("**Sub-scores:**")
		for _, c := range o.Component {
			if len(c.Code.Coding) > 0 && c.ValueQuantity != nil {
				name := strings.TrimPrefix(c.Code.Coding[0].Display, "Royal College of Physicians NEWS2 (National Early Warning Score 2) - ")
				fmt.Fprintf(&detail, " %s %s;", name, c.ValueQuantity.Value)
			}
		}
		detail.WriteString("\n\n")
	}
	if limit := overdueAfter(int(total), risk); age > limit {
		// Stale data: the card must not read as the patient's state now.
		fmt.Fprintf(&detail, "**Observations are overdue:** this score is from %s ago; for this score they are due at least every %s.\n", hm(age), hm(limit))
		summary = "OVERDUE " + summary
		if indicator == "info" {
			indicator = "warning"
		}
	}
	return []Card{{Summary: clipSummary(summary), Detail: detail.String(), Indicator: indicator, Source: news2Source,
		Links: []Link{{Label: "RCP NEWS2 charts", URL: news2Source.URL, Type: "absolute"}}}}, nil
}

var strokeSource = Source{Label: "Stroke recognition: ROSIER (Nor et al. 2005), NICE TA264 and NG128, by Junction",
	URL: "https://www.nice.org.uk/guidance/ng128"}

// strokeWindow is how far back a ROSIER raises a card: the longest
// treatment window (thrombectomy in selected patients, 24 hours).
const strokeWindow = stroke.ThrombectomySelectedWindow

func strokeCards(_ context.Context, d Data) ([]Card, error) {
	var latest *stroke.Response
	for _, raw := range entries(d.Prefetch["rosier"]) {
		r, err := stroke.ParseQuestionnaireResponse(raw)
		if err != nil {
			// A response that cannot be read is shown, never skipped: it
			// may be the one that matters.
			return []Card{{Summary: "A stroke recognition form could not be read", Indicator: "warning", Source: strokeSource,
				Detail: err.Error() + ". Assess the patient for stroke directly."}}, nil
		}
		if r.Status != "completed" && r.Status != "amended" {
			continue
		}
		if r.Authored.IsZero() || d.Now.Sub(r.Authored) > strokeWindow {
			continue
		}
		if latest == nil || r.Authored.After(latest.Authored) {
			latest = &r
		}
	}
	if latest == nil {
		return nil, nil
	}
	a := latest.Answers
	fast := ""
	if pos, _ := stroke.FASTPositive(a); pos {
		fast = " FAST is positive."
	}
	score, err := stroke.ROSIER(a)
	if err != nil {
		return []Card{{Summary: "ROSIER could not be scored: " + strings.TrimPrefix(err.Error(), "stroke: ") + "." + fast, Indicator: "warning", Source: strokeSource,
			Detail: "A missing or low score must not close the stroke pathway. " + strings.TrimPrefix(err.Error(), "stroke: ") + "."}}, nil
	}
	if !stroke.StrokeLikely(score) {
		return []Card{{Summary: clipSummary(fmt.Sprintf("ROSIER %+d: stroke unlikely but not excluded.%s", score, fast)), Indicator: "info", Source: strokeSource,
			Detail: "A ROSIER of 0 or less makes stroke unlikely but does not exclude it: discuss the patient with the stroke team."}}, nil
	}
	summary := fmt.Sprintf("STROKE LIKELY (ROSIER %+d): time-critical.", score)
	if !a.Onset.IsZero() {
		for _, w := range stroke.Windows(a.Onset, d.Now) {
			if w.Remaining > 0 {
				summary += fmt.Sprintf(" %s window closes in %s.", w.Name, hm(w.Remaining))
				break
			}
		}
	} else {
		summary += " Onset time not recorded."
	}
	return []Card{{Summary: clipSummary(summary), Detail: stroke.Alert(score, a, d.Now), Indicator: "critical", Source: strokeSource,
		Links: []Link{{Label: "NICE NG128", URL: strokeSource.URL, Type: "absolute"}, {Label: "NICE TA264", URL: "https://www.nice.org.uk/guidance/ta264", Type: "absolute"}}}}, nil
}

// clipSummary keeps a summary under the 140 characters CDS Hooks 2.0
// allows.
func clipSummary(s string) string {
	r := []rune(s)
	if len(r) < 140 {
		return s
	}
	return string(r[:138]) + "…"
}

func hm(d time.Duration) string {
	d = d.Truncate(time.Minute)
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}
