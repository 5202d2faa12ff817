package access

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
)

// Activity is something a role may do. Each maps to the national RBAC
// activity (B-code, NHS-RULES.md 5.2) where one exists.
type Activity string

// The activities the decision knows. A policy naming any other is
// refused when loaded.
const (
	// ReadDemographics reads Patient resources (B0264, Perform Patient
	// Trace).
	ReadDemographics Activity = "read-demographics"
	// AmendDemographics creates, updates and merges Patient resources
	// (B0825, Amend Patient Demographics).
	AmendDemographics Activity = "amend-demographics"
	// ReadRestrictedDemographics sees the demographics PDS withholds on a
	// restricted (R-labelled) Patient instead of the REDACTED copy (B1611,
	// Access Sensitive (S) Flagged Records).
	ReadRestrictedDemographics Activity = "read-restricted-demographics"
	// ReadClinical reads resources in a Patient compartment other than the
	// Patient itself (B0360, View Detailed Health Records).
	ReadClinical Activity = "read-clinical"
	// WriteClinical creates, updates and deletes them (B0380, Perform
	// Detailed Health Record update).
	WriteClinical Activity = "write-clinical"
	// ReadRestricted sees resources labelled R (restricted) in
	// meta.security (v3-Confidentiality); no national B-code.
	ReadRestricted Activity = "read-restricted"
	// ReadVeryRestricted sees resources labelled V (very restricted).
	ReadVeryRestricted Activity = "read-very-restricted"
	// EmergencyAccess may assert purpose BTG (break-glass) for one
	// patient (B0168, emergency access, override without permission).
	EmergencyAccess Activity = "emergency-access"
	// ReadAudit reads AuditEvent resources (the Privacy Officer's review,
	// B0015/B0016 receive alerts).
	ReadAudit Activity = "read-audit"
	// Administer writes resources outside every Patient compartment
	// (organisations, practitioners, terminology, profiles); no B-code.
	Administer Activity = "administer"
)

// Activities lists every activity with its national RBAC code ("" where
// none exists), for documentation and validation.
var Activities = map[Activity]string{
	ReadDemographics:           "B0264",
	AmendDemographics:          "B0825",
	ReadRestrictedDemographics: "B1611",
	ReadClinical:               "B0360",
	WriteClinical:              "B0380",
	ReadRestricted:             "",
	ReadVeryRestricted:         "",
	EmergencyAccess:            "B0168",
	ReadAudit:                  "B0015",
	Administer:                 "",
}

// PurposeClass says how a purpose of use (v3-ActReason) is treated.
type PurposeClass string

// Purpose classes.
const (
	// DirectCare purposes are never filtered by the National Data
	// Opt-out (NHS-RULES.md 6).
	DirectCare PurposeClass = "direct"
	// Secondary purposes (research and planning) are: a patient who
	// opted out is withheld.
	Secondary PurposeClass = "secondary"
	// Exempt purposes are neither direct care nor subject to the opt-out
	// (legal requirement, public health under COPI, patient request).
	Exempt PurposeClass = "exempt"
)

// RolePolicy is what one job role may do.
type RolePolicy struct {
	Name       string     `json:"name"`
	Activities []Activity `json:"activities"`
}

// KindPolicy is what every caller of a kind may do, whatever their roles,
// and which rules bind them.
type KindPolicy struct {
	Activities []Activity `json:"activities"`
	// Relationship requires a legitimate relationship between the
	// caller's organisation and a patient before the caller sees that
	// patient's clinical data.
	Relationship bool `json:"relationship"`
	// Consent applies patients' privacy consents to the caller.
	Consent bool `json:"consent"`
}

// Policy maps national RBAC job roles and caller kinds to activities.
// Load one with ParsePolicy or LoadPolicy, or use DefaultPolicy.
type Policy struct {
	Roles map[string]RolePolicy `json:"roles"`
	Kinds map[Kind]KindPolicy   `json:"kinds"`
	// Purposes classifies every purpose of use a caller may assert; an
	// unlisted purpose is refused.
	Purposes map[string]PurposeClass `json:"purposes"`
	// BreakGlass is how long an asserted emergency access lasts.
	BreakGlass time.Duration `json:"-"`
	// BreakGlassDuration is BreakGlass as written in the file ("4h").
	BreakGlassDuration string `json:"breakGlassDuration"`
	Comment            string `json:"comment,omitempty"`
}

//go:embed policy.json
var defaultPolicy []byte

// DefaultPolicy returns the built-in baseline (policy.json beside this
// file, documented in README.md).
func DefaultPolicy() *Policy {
	p, err := ParsePolicy(defaultPolicy)
	if err != nil {
		panic("access: built-in policy: " + err.Error())
	}
	return p
}

// LoadPolicy reads and validates the policy file at path (junction serve
// --access-policy FILE).
func LoadPolicy(path string) (*Policy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("access policy: %w", err)
	}
	p, err := ParsePolicy(b)
	if err != nil {
		return nil, fmt.Errorf("access policy %s: %w", path, err)
	}
	return p, nil
}

var roleCode = regexp.MustCompile(`^R[0-9]{4}$`)
var purposeCode = regexp.MustCompile(`^[A-Z][A-Z0-9]{1,31}$`)

// MaxBreakGlass bounds BreakGlassDuration: an emergency access is for one
// episode of care, not a standing grant.
const MaxBreakGlass = 24 * time.Hour

// ParsePolicy parses and validates a policy document. Unknown fields,
// unknown activities, malformed role codes, unknown caller kinds, a
// direct-care purpose classed otherwise and a break-glass duration
// outside (0, 24h] are errors naming the offending entry.
func ParsePolicy(b []byte) (*Policy, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p Policy
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("not a policy document: %w", err)
	}
	if dec.More() {
		return nil, errors.New("not a policy document: data after the JSON object")
	}
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	checkActs := func(where string, acts []Activity) {
		for _, a := range acts {
			if _, ok := Activities[a]; !ok {
				bad("%s: unknown activity %q (known: %s)", where, a, strings.Join(activityNames(), ", "))
			}
		}
	}
	for code, r := range p.Roles {
		if !roleCode.MatchString(code) {
			bad("roles: %q is not a national RBAC job role code (R followed by four digits)", code)
		}
		checkActs("roles."+code, r.Activities)
	}
	for k, kp := range p.Kinds {
		switch k {
		case Practitioner, PatientUser, System, PrivacyOfficer, Admin:
		default:
			bad("kinds: %q is not a caller kind (practitioner, patient, system, privacy-officer, admin)", k)
		}
		checkActs("kinds."+string(k), kp.Activities)
		if k == PatientUser && (kp.Relationship || kp.Consent) {
			bad("kinds.patient: relationship and consent do not apply to patients, who see only their own compartments")
		}
		if k == PatientUser && slices.Contains(kp.Activities, EmergencyAccess) {
			bad("kinds.patient: emergency-access is for staff")
		}
	}
	for _, k := range []Kind{Practitioner, PatientUser, System, PrivacyOfficer, Admin} {
		if _, ok := p.Kinds[k]; !ok {
			bad("kinds: no entry for %q", k)
		}
	}
	for code, c := range p.Purposes {
		if !purposeCode.MatchString(code) {
			bad("purposes: %q is not a v3-ActReason code", code)
		}
		switch c {
		case DirectCare, Secondary, Exempt:
		default:
			bad("purposes.%s: class must be direct, secondary or exempt", code)
		}
	}
	for _, code := range []string{"TREAT", "ETREAT", "BTG"} {
		if p.Purposes[code] != DirectCare {
			bad("purposes.%s: must be listed as direct: the National Data Opt-out never applies to direct care", code)
		}
	}
	if p.BreakGlassDuration == "" {
		p.BreakGlass = 4 * time.Hour
	} else if d, err := time.ParseDuration(p.BreakGlassDuration); err != nil || d <= 0 || d > MaxBreakGlass {
		bad("breakGlassDuration: %q must be a duration above 0 and at most 24h (e.g. \"4h\")", p.BreakGlassDuration)
	} else {
		p.BreakGlass = d
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		return nil, errors.New(strings.Join(errs, "; "))
	}
	return &p, nil
}

func activityNames() []string {
	var out []string
	for a := range Activities {
		out = append(out, string(a))
	}
	sort.Strings(out)
	return out
}

// activities returns what c may do under p: its kind's activities and
// those of every role it holds. A role the policy does not list grants
// nothing.
func (p *Policy) activities(c *Caller) map[Activity]bool {
	out := map[Activity]bool{}
	for _, a := range p.Kinds[c.Kind].Activities {
		out[a] = true
	}
	if c.Kind == PatientUser {
		// A patient acts for themselves: staff job roles never widen that.
		return out
	}
	for _, r := range c.Roles {
		for _, a := range p.Roles[r].Activities {
			out[a] = true
		}
	}
	return out
}
