package identity

import (
	"encoding/json"

	"github.com/nhs-junction/junction/internal/fhir"
)

// ConfidentialitySystem is the v3 Confidentiality code system that PDS
// uses in meta.security (NHS-RULES.md §5.4).
const ConfidentialitySystem = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"

// restrictedElements are the Patient elements withheld for a restricted
// (S-flagged) patient. PDS removes address, telecom and
// generalPractitioner from an R record; contact is withheld too, because
// a next of kin's address or telephone locates the patient as surely.
var restrictedElements = []string{"address", "telecom", "contact", "generalPractitioner"}

// IsRestricted reports whether a resource carries confidentiality R
// (restricted) in meta.security.
func IsRestricted(raw []byte) bool {
	var r struct {
		Meta struct {
			Security []struct{ System, Code string }
		}
	}
	if json.Unmarshal(raw, &r) != nil {
		return false
	}
	for _, s := range r.Meta.Security {
		if s.System == ConfidentialitySystem && s.Code == "R" {
			return true
		}
	}
	return false
}

// RedactRestricted returns a restricted Patient without address, telecom,
// contact and generalPractitioner, for a caller without the activity to
// see restricted demographics (B1611). Every other byte is kept, and the
// R label stays so the recipient knows the record is restricted. Other
// resources, and patients that are not restricted, are returned as they
// are; redacted reports whether anything was removed.
func RedactRestricted(raw []byte) (out []byte, redacted bool, err error) {
	if !IsRestricted(raw) {
		return raw, false, nil
	}
	obj, err := fhir.ParseObject(raw)
	if err != nil {
		return nil, false, err
	}
	if rt, _ := obj.GetString("resourceType"); rt != "Patient" {
		return raw, false, nil
	}
	for _, k := range restrictedElements {
		if _, ok := obj.Get(k); ok {
			obj.Delete(k)
			redacted = true
		}
	}
	if !redacted {
		return raw, false, nil
	}
	return obj.Bytes(), true, nil
}
