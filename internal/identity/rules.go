// Package identity holds the NHS patient-identity rules that apply on
// every write: NHS numbers must be valid wherever they appear.
package identity

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/identity/nhsnumber"
)

// VerificationStatusURL is the UK Core extension that says how far an NHS
// number has been verified against PDS.
const VerificationStatusURL = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus"

// verificationCodes are the codes of
// https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland.
var verificationCodes = map[string]string{
	"01": "Number present and verified",
	"02": "Number present but not traced",
	"03": "Trace required",
	"04": "Trace attempted - No match or multiple match found",
	"05": "Trace needs to be resolved - (NHS number or patient detail conflict)",
	"06": "Trace in progress",
	"07": "Number not present and trace not required",
	"08": "Trace postponed (baby under six weeks old)",
}

// CheckNHSNumbers finds every Identifier whose system is the NHS number
// system, anywhere in a resource (contained resources and references'
// identifiers included), and reports those whose value is not a valid
// NHS number, or whose verification status extension carries an unknown
// code. Issues have code "value" and the element's location.
func CheckNHSNumbers(raw []byte) []fhir.Issue {
	if !bytes.Contains(raw, []byte(nhsnumber.System)) {
		return nil
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var root map[string]any
	if d.Decode(&root) != nil {
		return nil // structure errors are the validator's to report
	}
	rt, _ := root["resourceType"].(string)
	var issues []fhir.Issue
	walk(root, rt, &issues)
	return issues
}

func walk(v any, path string, issues *[]fhir.Issue) {
	switch x := v.(type) {
	case map[string]any:
		if sys, _ := x["system"].(string); sys == nhsnumber.System {
			checkIdentifier(x, path, issues)
		}
		for k, child := range x {
			walk(child, path+"."+k, issues)
		}
	case []any:
		for i, child := range x {
			walk(child, fmt.Sprintf("%s[%d]", path, i), issues)
		}
	}
}

func checkIdentifier(id map[string]any, path string, issues *[]fhir.Issue) {
	value, ok := id["value"].(string)
	if !ok {
		if _, present := id["value"]; present {
			*issues = append(*issues, fhir.Issue{Severity: fhir.SeverityError, Code: fhir.IssueValue,
				Diagnostics: "NHS number must be a string of 10 digits", Expression: []string{path + ".value"}})
		}
	} else if err := nhsnumber.Validate(value); err != nil {
		*issues = append(*issues, fhir.Issue{Severity: fhir.SeverityError, Code: fhir.IssueValue,
			Diagnostics: err.Error(), Expression: []string{path + ".value"}})
	}
	exts, _ := id["extension"].([]any)
	for i, e := range exts {
		ext, _ := e.(map[string]any)
		if url, _ := ext["url"].(string); url != VerificationStatusURL {
			continue
		}
		code := ""
		if cc, ok := ext["valueCodeableConcept"].(map[string]any); ok {
			if codings, ok := cc["coding"].([]any); ok && len(codings) > 0 {
				if c, ok := codings[0].(map[string]any); ok {
					code, _ = c["code"].(string)
				}
			}
		}
		if _, known := verificationCodes[code]; !known {
			*issues = append(*issues, fhir.Issue{Severity: fhir.SeverityError, Code: fhir.IssueCodeInvalid,
				Diagnostics: fmt.Sprintf("NHS number verification status %q is not a code of UKCore-NHSNumberVerificationStatusEngland (01-08)", code),
				Expression:  []string{fmt.Sprintf("%s.extension[%d]", path, i)}})
		}
		if code == "07" && ok && strings.TrimSpace(value) != "" {
			*issues = append(*issues, fhir.Issue{Severity: fhir.SeverityError, Code: fhir.IssueBusinessRule,
				Diagnostics: "Verification status 07 says no NHS number is present, but the identifier has one",
				Expression:  []string{path}})
		}
	}
}
