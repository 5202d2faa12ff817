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
	// Withheld data is flagged, never silently dropped: the REDACTED
	// security label (v3-ObservationValue) tells the recipient that
	// elements were removed from what the custodian holds.
	meta := &fhir.Object{}
	if m, ok := obj.Get("meta"); ok {
		if mo, err := fhir.ParseObject(m); err == nil {
			meta = mo
		}
	}
	var sec []json.RawMessage
	if raw, ok := meta.Get("security"); ok {
		_ = json.Unmarshal(raw, &sec)
	}
	sec = append(sec, json.RawMessage(`{"system":"`+ObservationValueSystem+`","code":"REDACTED","display":"redacted"}`))
	secRaw, _ := json.Marshal(sec)
	meta.Set("security", secRaw)
	obj.Set("meta", meta.Bytes(), "id", "resourceType")
	return obj.Bytes(), true, nil
}

// ObservationValueSystem is the v3 code system of the REDACTED label.
const ObservationValueSystem = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"

// RestrictedSearchParams are the Patient search parameters that a search
// by which must never find a restricted patient (PDS: a restricted
// patient is not traced by address, telecom or GP), for callers who may
// not see restricted demographics.
var RestrictedSearchParams = []string{"address", "address-city", "address-country", "address-postalcode",
	"address-state", "address-use", "phone", "telecom", "email", "general-practitioner"}
