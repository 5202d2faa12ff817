package synth

// Resource structs: one per FHIR R4 resource type generated, declaring
// only the elements used, in the order the specification lists them.

type organization struct {
	ResourceType string       `json:"resourceType"`
	ID           string       `json:"id"`
	Identifier   []identifier `json:"identifier,omitempty"`
	Active       bool         `json:"active"`
	Type         []concept    `json:"type,omitempty"`
	Name         string       `json:"name,omitempty"`
	Address      []address    `json:"address,omitempty"`
}

type location struct {
	ResourceType         string     `json:"resourceType"`
	ID                   string     `json:"id"`
	Status               string     `json:"status,omitempty"`
	Name                 string     `json:"name,omitempty"`
	Mode                 string     `json:"mode,omitempty"`
	Type                 []concept  `json:"type,omitempty"`
	Address              *address   `json:"address,omitempty"`
	ManagingOrganization *reference `json:"managingOrganization,omitempty"`
}

type practitioner struct {
	ResourceType string       `json:"resourceType"`
	ID           string       `json:"id"`
	Identifier   []identifier `json:"identifier,omitempty"`
	Active       bool         `json:"active"`
	Name         []humanName  `json:"name,omitempty"`
}

type practitionerRole struct {
	ResourceType string       `json:"resourceType"`
	ID           string       `json:"id"`
	Identifier   []identifier `json:"identifier,omitempty"`
	Active       bool         `json:"active"`
	Practitioner *reference   `json:"practitioner,omitempty"`
	Organization *reference   `json:"organization,omitempty"`
	Code         []concept    `json:"code,omitempty"`
	Specialty    []concept    `json:"specialty,omitempty"`
	Location     []reference  `json:"location,omitempty"`
}

type patient struct {
	ResourceType         string         `json:"resourceType"`
	ID                   string         `json:"id"`
	Meta                 *meta          `json:"meta,omitempty"`
	Identifier           []identifier   `json:"identifier,omitempty"`
	Active               bool           `json:"active"`
	Name                 []humanName    `json:"name,omitempty"`
	Telecom              []contactPoint `json:"telecom,omitempty"`
	Gender               string         `json:"gender,omitempty"`
	BirthDate            string         `json:"birthDate,omitempty"`
	DeceasedDateTime     string         `json:"deceasedDateTime,omitempty"`
	Address              []address      `json:"address,omitempty"`
	GeneralPractitioner  []reference    `json:"generalPractitioner,omitempty"`
	ManagingOrganization *reference     `json:"managingOrganization,omitempty"`
}

type encounterParticipant struct {
	Type       []concept  `json:"type,omitempty"`
	Individual *reference `json:"individual,omitempty"`
}

type encounterLocation struct {
	Location reference `json:"location"`
	Status   string    `json:"status,omitempty"`
}

type hospitalization struct {
	AdmitSource          *concept `json:"admitSource,omitempty"`
	DischargeDisposition *concept `json:"dischargeDisposition,omitempty"`
}

type encounter struct {
	ResourceType    string                 `json:"resourceType"`
	ID              string                 `json:"id"`
	Status          string                 `json:"status"`
	Class           coding                 `json:"class"`
	Type            []concept              `json:"type,omitempty"`
	Subject         *reference             `json:"subject,omitempty"`
	BasedOn         []reference            `json:"basedOn,omitempty"`
	Participant     []encounterParticipant `json:"participant,omitempty"`
	Period          *period                `json:"period,omitempty"`
	ReasonCode      []concept              `json:"reasonCode,omitempty"`
	Hospitalization *hospitalization       `json:"hospitalization,omitempty"`
	Location        []encounterLocation    `json:"location,omitempty"`
	ServiceProvider *reference             `json:"serviceProvider,omitempty"`
}

type condition struct {
	ResourceType       string     `json:"resourceType"`
	ID                 string     `json:"id"`
	ClinicalStatus     *concept   `json:"clinicalStatus,omitempty"`
	VerificationStatus *concept   `json:"verificationStatus,omitempty"`
	Category           []concept  `json:"category,omitempty"`
	Code               *concept   `json:"code,omitempty"`
	Subject            reference  `json:"subject"`
	Encounter          *reference `json:"encounter,omitempty"`
	OnsetDateTime      string     `json:"onsetDateTime,omitempty"`
	AbatementDateTime  string     `json:"abatementDateTime,omitempty"`
	RecordedDate       string     `json:"recordedDate,omitempty"`
	Recorder           *reference `json:"recorder,omitempty"`
}

type procedurePerformer struct {
	Actor      reference  `json:"actor"`
	OnBehalfOf *reference `json:"onBehalfOf,omitempty"`
}

type procedure struct {
	ResourceType    string               `json:"resourceType"`
	ID              string               `json:"id"`
	BasedOn         []reference          `json:"basedOn,omitempty"`
	Status          string               `json:"status"`
	Code            *concept             `json:"code,omitempty"`
	Subject         reference            `json:"subject"`
	Encounter       *reference           `json:"encounter,omitempty"`
	PerformedPeriod *period              `json:"performedPeriod,omitempty"`
	Performer       []procedurePerformer `json:"performer,omitempty"`
	Location        *reference           `json:"location,omitempty"`
	ReasonReference []reference          `json:"reasonReference,omitempty"`
}

type dosage struct {
	Text string `json:"text,omitempty"`
}

type medicationRequest struct {
	ResourceType              string      `json:"resourceType"`
	ID                        string      `json:"id"`
	Status                    string      `json:"status"`
	Intent                    string      `json:"intent"`
	MedicationCodeableConcept *concept    `json:"medicationCodeableConcept,omitempty"`
	Subject                   reference   `json:"subject"`
	Encounter                 *reference  `json:"encounter,omitempty"`
	AuthoredOn                string      `json:"authoredOn,omitempty"`
	Requester                 *reference  `json:"requester,omitempty"`
	ReasonReference           []reference `json:"reasonReference,omitempty"`
	CourseOfTherapyType       *concept    `json:"courseOfTherapyType,omitempty"`
	DosageInstruction         []dosage    `json:"dosageInstruction,omitempty"`
}

type allergyReaction struct {
	Manifestation []concept `json:"manifestation"`
	Severity      string    `json:"severity,omitempty"`
}

type allergyIntolerance struct {
	ResourceType       string            `json:"resourceType"`
	ID                 string            `json:"id"`
	ClinicalStatus     *concept          `json:"clinicalStatus,omitempty"`
	VerificationStatus *concept          `json:"verificationStatus,omitempty"`
	Type               string            `json:"type,omitempty"`
	Category           []string          `json:"category,omitempty"`
	Criticality        string            `json:"criticality,omitempty"`
	Code               *concept          `json:"code,omitempty"`
	Patient            reference         `json:"patient"`
	OnsetDateTime      string            `json:"onsetDateTime,omitempty"`
	RecordedDate       string            `json:"recordedDate,omitempty"`
	Recorder           *reference        `json:"recorder,omitempty"`
	Reaction           []allergyReaction `json:"reaction,omitempty"`
}

type immunizationPerformer struct {
	Actor reference `json:"actor"`
}

type immunization struct {
	ResourceType       string                  `json:"resourceType"`
	ID                 string                  `json:"id"`
	Status             string                  `json:"status"`
	VaccineCode        concept                 `json:"vaccineCode"`
	Patient            reference               `json:"patient"`
	OccurrenceDateTime string                  `json:"occurrenceDateTime"`
	Recorded           string                  `json:"recorded,omitempty"`
	PrimarySource      bool                    `json:"primarySource"`
	Location           *reference              `json:"location,omitempty"`
	LotNumber          string                  `json:"lotNumber,omitempty"`
	Performer          []immunizationPerformer `json:"performer,omitempty"`
}

type referenceRange struct {
	Low  *quantity `json:"low,omitempty"`
	High *quantity `json:"high,omitempty"`
}

type component struct {
	Code                 concept   `json:"code"`
	ValueQuantity        *quantity `json:"valueQuantity,omitempty"`
	ValueCodeableConcept *concept  `json:"valueCodeableConcept,omitempty"`
}

type observation struct {
	ResourceType         string           `json:"resourceType"`
	ID                   string           `json:"id"`
	Status               string           `json:"status"`
	Category             []concept        `json:"category,omitempty"`
	Code                 concept          `json:"code"`
	Subject              reference        `json:"subject"`
	Encounter            *reference       `json:"encounter,omitempty"`
	EffectiveDateTime    string           `json:"effectiveDateTime,omitempty"`
	Issued               string           `json:"issued,omitempty"`
	Performer            []reference      `json:"performer,omitempty"`
	ValueQuantity        *quantity        `json:"valueQuantity,omitempty"`
	ValueCodeableConcept *concept         `json:"valueCodeableConcept,omitempty"`
	Interpretation       []concept        `json:"interpretation,omitempty"`
	ReferenceRange       []referenceRange `json:"referenceRange,omitempty"`
	DerivedFrom          []reference      `json:"derivedFrom,omitempty"`
	Component            []component      `json:"component,omitempty"`
}

type diagnosticReport struct {
	ResourceType      string      `json:"resourceType"`
	ID                string      `json:"id"`
	BasedOn           []reference `json:"basedOn,omitempty"`
	Status            string      `json:"status"`
	Category          []concept   `json:"category,omitempty"`
	Code              concept     `json:"code"`
	Subject           reference   `json:"subject"`
	Encounter         *reference  `json:"encounter,omitempty"`
	EffectiveDateTime string      `json:"effectiveDateTime,omitempty"`
	Issued            string      `json:"issued,omitempty"`
	Performer         []reference `json:"performer,omitempty"`
	Result            []reference `json:"result,omitempty"`
	ImagingStudy      []reference `json:"imagingStudy,omitempty"`
	Conclusion        string      `json:"conclusion,omitempty"`
}

type imagingInstance struct {
	UID      string `json:"uid"`
	SOPClass coding `json:"sopClass"`
	Number   int    `json:"number,omitempty"`
}

type imagingSeries struct {
	UID               string            `json:"uid"`
	Number            int               `json:"number,omitempty"`
	Modality          coding            `json:"modality"`
	Description       string            `json:"description,omitempty"`
	NumberOfInstances int               `json:"numberOfInstances,omitempty"`
	BodySite          *coding           `json:"bodySite,omitempty"`
	Started           string            `json:"started,omitempty"`
	Instance          []imagingInstance `json:"instance,omitempty"`
}

type imagingStudy struct {
	ResourceType      string          `json:"resourceType"`
	ID                string          `json:"id"`
	Identifier        []identifier    `json:"identifier,omitempty"`
	Status            string          `json:"status"`
	Modality          []coding        `json:"modality,omitempty"`
	Subject           reference       `json:"subject"`
	Encounter         *reference      `json:"encounter,omitempty"`
	Started           string          `json:"started,omitempty"`
	BasedOn           []reference     `json:"basedOn,omitempty"`
	NumberOfSeries    int             `json:"numberOfSeries,omitempty"`
	NumberOfInstances int             `json:"numberOfInstances,omitempty"`
	ProcedureCode     []concept       `json:"procedureCode,omitempty"`
	Location          *reference      `json:"location,omitempty"`
	Series            []imagingSeries `json:"series,omitempty"`
}

type serviceRequest struct {
	ResourceType       string       `json:"resourceType"`
	ID                 string       `json:"id"`
	Status             string       `json:"status"`
	Intent             string       `json:"intent"`
	Category           []concept    `json:"category,omitempty"`
	Priority           string       `json:"priority,omitempty"`
	Code               *concept     `json:"code,omitempty"`
	Subject            reference    `json:"subject"`
	Encounter          *reference   `json:"encounter,omitempty"`
	OccurrenceDateTime string       `json:"occurrenceDateTime,omitempty"`
	AuthoredOn         string       `json:"authoredOn,omitempty"`
	Requester          *reference   `json:"requester,omitempty"`
	PerformerType      *concept     `json:"performerType,omitempty"`
	Performer          []reference  `json:"performer,omitempty"`
	ReasonReference    []reference  `json:"reasonReference,omitempty"`
	Note               []annotation `json:"note,omitempty"`
}
