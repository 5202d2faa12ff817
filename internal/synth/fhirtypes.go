package synth

// The FHIR R4 datatypes the generator emits, as small structs so that
// encoding/json writes members in a fixed order and omits what is empty.
// Only the elements used are declared; names and cardinalities follow the
// R4 (4.0.1) definitions.

type coding struct {
	System       string `json:"system,omitempty"`
	Code         string `json:"code,omitempty"`
	Display      string `json:"display,omitempty"`
	UserSelected bool   `json:"userSelected,omitempty"`
}

type concept struct {
	Coding []coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

type reference struct {
	Reference string `json:"reference,omitempty"`
	Display   string `json:"display,omitempty"`
}

type extension struct {
	URL                  string   `json:"url"`
	ValueCodeableConcept *concept `json:"valueCodeableConcept,omitempty"`
}

type identifier struct {
	Extension []extension `json:"extension,omitempty"`
	Use       string      `json:"use,omitempty"`
	Type      *concept    `json:"type,omitempty"`
	System    string      `json:"system,omitempty"`
	Value     string      `json:"value,omitempty"`
}

// quantity always writes value, because 0 is a meaningful result (a NEWS2
// score of 0).
type quantity struct {
	Value  float64 `json:"value"`
	Unit   string  `json:"unit,omitempty"`
	System string  `json:"system,omitempty"`
	Code   string  `json:"code,omitempty"`
}

type period struct {
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
}

type meta struct {
	Security []coding `json:"security,omitempty"`
}

type humanName struct {
	Use    string   `json:"use,omitempty"`
	Text   string   `json:"text,omitempty"`
	Family string   `json:"family,omitempty"`
	Given  []string `json:"given,omitempty"`
	Prefix []string `json:"prefix,omitempty"`
	Period *period  `json:"period,omitempty"`
}

type contactPoint struct {
	System string `json:"system,omitempty"`
	Value  string `json:"value,omitempty"`
	Use    string `json:"use,omitempty"`
	Rank   int    `json:"rank,omitempty"`
}

type address struct {
	Use        string   `json:"use,omitempty"`
	Type       string   `json:"type,omitempty"`
	Line       []string `json:"line,omitempty"`
	City       string   `json:"city,omitempty"`
	District   string   `json:"district,omitempty"`
	PostalCode string   `json:"postalCode,omitempty"`
	Country    string   `json:"country,omitempty"`
	Period     *period  `json:"period,omitempty"`
}

type annotation struct {
	Text string `json:"text"`
}

const (
	sct                = "http://snomed.info/sct"
	loinc              = "http://loinc.org"
	ucum               = "http://unitsofmeasure.org"
	dmd                = "https://dmd.nhs.uk"
	cvx                = "http://hl7.org/fhir/sid/cvx"
	odsSystem          = "https://fhir.nhs.uk/Id/ods-organization-code"
	actCode            = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
	obsCat             = "http://terminology.hl7.org/CodeSystem/observation-category"
	diagServiceSection = "http://terminology.hl7.org/CodeSystem/v2-0074"
	dicomDCM           = "http://dicom.nema.org/resources/ontology/DCM"
	confSystem         = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
)

func cc(system, code, display string) *concept {
	return &concept{Coding: []coding{{System: system, Code: code, Display: display}}}
}

func ccv(system, code, display string) concept {
	return concept{Coding: []coding{{System: system, Code: code, Display: display}}}
}

func ref(typ, id string) *reference { return &reference{Reference: typ + "/" + id} }

func refd(typ, id, display string) *reference {
	return &reference{Reference: typ + "/" + id, Display: display}
}

func qty(v float64, unit, code string) *quantity {
	return &quantity{Value: v, Unit: unit, System: ucum, Code: code}
}
