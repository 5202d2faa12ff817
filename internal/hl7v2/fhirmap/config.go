// Package fhirmap turns HL7 v2 messages (ADT and ORU^R01) into FHIR R4
// transaction Bundles, so that a feed's resources go through the same
// validation, NHS number rules, indexing and conditional references as
// every other write.
//
// Mapping is pure: Prepare reads a message and names the identifiers its
// resources are found by (Keys); the caller looks those up in the store
// and hands what it found to Build, which returns the Bundle. Nothing here
// reads or writes a database.
package fhirmap

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"
)

// Well-known FHIR identifier and code systems.
const (
	NHSNumberSystem   = "https://fhir.nhs.uk/Id/nhs-number"
	ODSSystem         = "https://fhir.nhs.uk/Id/ods-organization-code"
	GMPSystem         = "https://fhir.hl7.org.uk/Id/gmp-number"
	GMCSystem         = "https://fhir.hl7.org.uk/Id/gmc-number"
	V2IdentifierType  = "http://terminology.hl7.org/CodeSystem/v2-0203"
	LOINCSystem       = "http://loinc.org"
	SNOMEDSystem      = "http://snomed.info/sct"
	UCUMSystem        = "http://unitsofmeasure.org"
	ActCodeSystem     = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
	InterpretationSys = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
	// NHSStatusSystem and NHSStatusURL carry an NHS number's verification
	// status (NHS Data Dictionary NHS Number Status Indicator Code).
	NHSStatusSystem = "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland"
	NHSStatusURL    = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus"
)

// Config is the mapping file: per sending facility (MSH-4.1), how to read
// its identifiers and codes. A facility not listed uses Default.
type Config struct {
	Default    Facility            `json:"default"`
	Facilities map[string]Facility `json:"facilities"`
}

// Facility is how one sending facility's messages are read.
type Facility struct {
	// ODS is the facility's ODS code. It becomes the managing
	// organisation of its patients, the service provider of its
	// encounters and the assigner of its local identifiers. Empty means
	// the sending facility (MSH-4.1) itself.
	ODS string `json:"ods,omitempty"`
	// MRN lists which PID-3 (and PID-2, PID-4) repetitions are local
	// patient identifiers, and their FHIR identifier system. A repetition
	// matching no rule (and not an NHS number) is kept with the system
	// LocalSystem builds.
	MRN []IdentifierRule `json:"mrn,omitempty"`
	// NHSNumber lists further assigning authorities or identifier type
	// codes (beside authority NHS and type NH) that mark an NHS number.
	NHSNumber []IdentifierRule `json:"nhsNumber,omitempty"`
	// CodeSystems maps a coding system name as sent in CE/CWE component 3
	// (OBX-3, OBX-5, OBR-4) to a FHIR code system URI. Names not listed
	// fall back to the HL7 table 0396 names built in (LN, SCT, SNM, ...),
	// then to LocalCodeSystem.
	CodeSystems map[string]string `json:"codeSystems,omitempty"`
	// LocalCodeSystem is the FHIR system of codes sent without a coding
	// system, or with one that is not known (a laboratory's local test
	// codes). Empty means LocalSystem("code").
	LocalCodeSystem string `json:"localCodeSystem,omitempty"`
	// VisitSystem is the identifier system of visit numbers (PV1-19).
	VisitSystem string `json:"visitSystem,omitempty"`
	// OrderSystem is the identifier system of placer and filler order
	// numbers (ORC-2/3, OBR-2/3).
	OrderSystem string `json:"orderSystem,omitempty"`
}

// IdentifierRule matches a CX repetition by its assigning authority
// (CX.4.1) and/or identifier type code (CX.5), compared without regard to
// case; an empty field matches anything, but a rule must name one.
type IdentifierRule struct {
	Authority string `json:"authority,omitempty"`
	Type      string `json:"type,omitempty"`
	// System is the FHIR identifier system (MRN rules only).
	System string `json:"system,omitempty"`
}

func (r IdentifierRule) matches(authority, typ string) bool {
	if r.Authority == "" && r.Type == "" {
		return false
	}
	return (r.Authority == "" || strings.EqualFold(r.Authority, authority)) &&
		(r.Type == "" || strings.EqualFold(r.Type, typ))
}

// builtinNHS are the places NHS feeds are seen to mark the NHS number
// (NHS ITK HL7 v2.4 ADT specification: authority NHS, type NH; Simulated
// Hospital: authority NHSNBR, type NHSNMBR).
var builtinNHS = []IdentifierRule{{Authority: "NHS"}, {Type: "NH"}, {Authority: "NHSNBR"}, {Type: "NHSNMBR"}}

// builtinCodeSystems are HL7 table 0396 coding system names (and the
// variants feeds send) with a FHIR system.
var builtinCodeSystems = map[string]string{
	"LN":               LOINCSystem,
	"LOINC":            LOINCSystem,
	"SCT":              SNOMEDSystem,
	"SNM":              SNOMEDSystem,
	"SNOMED":           SNOMEDSystem,
	"SNOMED-CT":        SNOMEDSystem,
	"UCUM":             UCUMSystem,
	"I10":              "http://hl7.org/fhir/sid/icd-10",
	"ICD10":            "http://hl7.org/fhir/sid/icd-10",
	"HL70078":          "http://terminology.hl7.org/CodeSystem/v2-0078",
	"HL70136":          "http://terminology.hl7.org/CodeSystem/v2-0136",
	"READ":             "http://read.info/readv2",
	"R2":               "http://read.info/readv2",
	"CTV3":             "http://read.info/ctv3",
	"OPCS4":            "http://fhir.nhs.net/CodeSystem/opcs-4",
	"GTD":              "https://fhir.nhs.uk/CodeSystem/England-GenomicTestDirectory",
	"ISO+":             "urn:iso:std:iso:11073:10101",
	"HL70396":          "http://terminology.hl7.org/CodeSystem/v2-0396",
	"SNOMEDCT":         SNOMEDSystem,
	"http://loinc.org": LOINCSystem,
}

// DefaultConfig is the mapping used without a mapping file.
func DefaultConfig() *Config { return &Config{Facilities: map[string]Facility{}} }

// LoadConfig reads a mapping file (JSON, see Config).
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseConfig(b)
}

// ParseConfig reads a mapping file's contents. Unknown fields are an
// error, so a misspelt setting is not silently ignored.
func ParseConfig(b []byte) (*Config, error) {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	c := DefaultConfig()
	if err := dec.Decode(c); err != nil {
		return nil, fmt.Errorf("hl7 mapping file: %w", err)
	}
	if c.Facilities == nil {
		c.Facilities = map[string]Facility{}
	}
	check := func(where string, f Facility) error {
		for i, r := range f.MRN {
			if r.Authority == "" && r.Type == "" {
				return fmt.Errorf("hl7 mapping file: %s.mrn[%d] names neither an authority nor a type", where, i)
			}
			if r.System != "" && !isURI(r.System) {
				return fmt.Errorf("hl7 mapping file: %s.mrn[%d].system %q is not an absolute URI", where, i, r.System)
			}
		}
		for i, r := range f.NHSNumber {
			if r.Authority == "" && r.Type == "" {
				return fmt.Errorf("hl7 mapping file: %s.nhsNumber[%d] names neither an authority nor a type", where, i)
			}
		}
		for k, v := range f.CodeSystems {
			if !isURI(v) {
				return fmt.Errorf("hl7 mapping file: %s.codeSystems[%q] %q is not an absolute URI", where, k, v)
			}
		}
		for _, s := range []string{f.LocalCodeSystem, f.VisitSystem, f.OrderSystem} {
			if s != "" && !isURI(s) {
				return fmt.Errorf("hl7 mapping file: %s: %q is not an absolute URI", where, s)
			}
		}
		return nil
	}
	if err := check("default", c.Default); err != nil {
		return nil, err
	}
	for name, f := range c.Facilities {
		if err := check("facilities["+name+"]", f); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func isURI(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme != "" && !strings.ContainsAny(s, " \t")
}

// facility returns the rules for a sending facility: its entry (matched
// without regard to case), else Default, with the facility's own name as
// its ODS code when none is configured.
func (c *Config) facility(name string) Facility {
	f, ok := c.Facilities[name]
	if !ok {
		for k, v := range c.Facilities {
			if strings.EqualFold(k, name) {
				f, ok = v, true
				break
			}
		}
	}
	if !ok {
		f = c.Default
	}
	if f.ODS == "" {
		f.ODS = name
	}
	return f
}

// LocalSystem is the identifier system given to a facility's local
// identifiers no rule names: urn:junction:hl7v2: then the sending
// facility and what the identifier is (the assigning authority, a
// "visit", "order" or "code"), percent-encoded. It is stable, so the same
// feed always finds its own identifiers again; a trust that publishes
// real systems (https://fhir.<trust>.nhs.uk/Id/...) names them in the
// mapping file instead.
func LocalSystem(facility, kind string) string {
	return "urn:junction:hl7v2:" + url.PathEscape(strings.ToLower(facility)) + ":" + url.PathEscape(strings.ToLower(kind))
}

func (f Facility) codeSystem(facility, name string) string {
	if name == "" {
		return f.localCodes(facility)
	}
	if s, ok := f.CodeSystems[name]; ok {
		return s
	}
	if s, ok := builtinCodeSystems[strings.ToUpper(name)]; ok {
		return s
	}
	if s, ok := builtinCodeSystems[name]; ok {
		return s
	}
	if isURI(name) && strings.Contains(name, "/") {
		return name
	}
	return f.localCodes(facility) + ":" + url.PathEscape(strings.ToLower(name))
}

func (f Facility) localCodes(facility string) string {
	if f.LocalCodeSystem != "" {
		return f.LocalCodeSystem
	}
	return LocalSystem(facility, "code")
}
