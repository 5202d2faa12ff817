package news2

import "fmt"

// Risk is the clinical risk an aggregate score carries (RCP 2017 Chart 4).
type Risk int

// The risks, lowest first, so that the higher of two is the greater.
const (
	RiskLow Risk = iota
	// RiskLowMedium is a score of 3 in any single parameter (a "red
	// score") with an aggregate below 5.
	RiskLowMedium
	RiskMedium // aggregate 5 or 6: the urgent response threshold
	RiskHigh   // aggregate 7 or more: the emergency response threshold
)

// RiskOf returns the clinical risk of an aggregate score total, given
// whether any single parameter scored 3. The level is the highest of the
// total's band and the red-score band: a red score is never suppressed
// because the total is low (RCP 2017 Chart 4).
func RiskOf(total int, redScore bool) Risk {
	r := RiskLow
	switch {
	case total >= 7:
		r = RiskHigh
	case total >= 5:
		r = RiskMedium
	}
	if redScore && r < RiskLowMedium {
		r = RiskLowMedium
	}
	return r
}

// Code is the risk's code in RiskSystem.
func (r Risk) Code() string {
	switch r {
	case RiskLow:
		return "low"
	case RiskLowMedium:
		return "low-medium"
	case RiskMedium:
		return "medium"
	case RiskHigh:
		return "high"
	}
	return fmt.Sprintf("Risk(%d)", int(r))
}

// ParseRisk is the inverse of Risk.Code.
func ParseRisk(code string) (Risk, bool) {
	for r := RiskLow; r <= RiskHigh; r++ {
		if r.Code() == code {
			return r, true
		}
	}
	return 0, false
}

// Display is the risk as RCP Chart 4 names it.
func (r Risk) Display() string {
	switch r {
	case RiskLow:
		return "Low clinical risk"
	case RiskLowMedium:
		return "Low-medium clinical risk (score of 3 in a single parameter)"
	case RiskMedium:
		return "Medium clinical risk: urgent response threshold"
	case RiskHigh:
		return "High clinical risk: emergency response threshold"
	}
	return r.Code()
}

// Response is the minimum monitoring frequency and the clinical response
// RCP 2017 Chart 4 sets for an aggregate score total with risk r (the
// low band distinguishes a total of 0 from 1–4).
func Response(total int, r Risk) (monitoring, response string) {
	switch r {
	case RiskHigh:
		return "Continuous monitoring of vital signs",
			"Registered nurse to inform the medical team caring for the patient immediately, at least at specialist registrar level. " +
				"Emergency assessment by a clinical team or critical care outreach team with critical-care competencies, including practitioners with advanced airway management skills. " +
				"Consider transfer of care to a level 2 or 3 clinical care facility (higher-dependency unit or ICU). Clinical care in an environment with monitoring facilities."
	case RiskMedium:
		return "Minimum 1-hourly",
			"Registered nurse to inform the medical team caring for the patient immediately. " +
				"Urgent assessment by a clinician or team with core competencies in the assessment of acutely ill patients. " +
				"Clinical care in an environment with monitoring facilities."
	case RiskLowMedium:
		return "Minimum 1-hourly",
			"Registered nurse to inform the medical team caring for the patient, who will review and decide whether escalation of care is necessary (urgent ward-based response)."
	}
	if total == 0 {
		return "Minimum 12-hourly", "Continue routine NEWS monitoring."
	}
	return "Minimum 4–6-hourly",
		"Inform the registered nurse, who must assess the patient and decide whether increased frequency of clinical monitoring or an escalation of care is required."
}
