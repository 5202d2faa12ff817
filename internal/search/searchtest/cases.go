package searchtest

// A case is one search and the ids it must return, in any order unless
// ordered is set.
type searchCase struct {
	typ, query string
	want       []string
	ordered    bool
}

var cases = []searchCase{
	// string: starts-with, case- and accent-insensitive; :exact; :contains
	{"Patient", "name=smi", []string{"p1"}, false},
	{"Patient", "name=SMITH", []string{"p1"}, false},
	{"Patient", "name=zoe", []string{"p1"}, false},
	{"Patient", "given=ZOË", []string{"p1"}, false},
	{"Patient", "name=renee", []string{"p3"}, false},
	{"Patient", "family=Sm", []string{"p1", "p2"}, false},
	{"Patient", "family=smith,smyth", []string{"p1", "p2"}, false},
	{"Patient", "family:exact=Smith", []string{"p1"}, false},
	{"Patient", "family:exact=smith", nil, false},
	{"Patient", "family:contains=LL", []string{"p3"}, false},
	{"Patient", "address=leeds", []string{"p1"}, false},
	{"Patient", "address-postalcode=ls1", []string{"p1"}, false},
	{"Patient", "name=john smyth", []string{"p2"}, false},
	{"Patient", "name=smith&name=zoe", []string{"p1"}, false},
	{"Patient", "name=smith&name=john", nil, false},
	{"Patient", "family:missing=true", nil, false},
	{"Organization", "name=leeds", []string{"o1"}, false},

	// token
	{"Patient", "gender=female", []string{"p1", "p3"}, false},
	{"Patient", "gender:not=female", []string{"p2"}, false},
	{"Patient", "gender=|female", []string{"p1", "p3"}, false},
	{"Patient", "identifier=https://fhir.nhs.uk/Id/nhs-number|9990000018", []string{"p1"}, false},
	{"Patient", "identifier=9990000018", []string{"p1"}, false},
	{"Patient", "identifier=|9990000018", nil, false},
	{"Patient", "identifier=https://fhir.nhs.uk/Id/nhs-number|", []string{"p1"}, false},
	{"Patient", "identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|12345", []string{"p2"}, false},
	{"Patient", "identifier:missing=true", []string{"p3"}, false},
	{"Patient", "active=true", []string{"p1"}, false},
	{"Patient", "active:missing=true", []string{"p2", "p3"}, false},
	{"Observation", "code=http://loinc.org|29463-7", []string{"ob2", "ob3"}, false},
	{"Observation", "code=29463-7,8867-4", []string{"ob1", "ob2", "ob3"}, false},
	{"Observation", "code:text=heart", []string{"ob1"}, false},
	{"Observation", "code:text=body temp", []string{"ob5"}, false},
	{"Observation", "status:not=final", []string{"ob3"}, false},
	{"Patient", "_id=p1,p3", []string{"p1", "p3"}, false},
	{"Patient", "_tag=http://example.org/tags|vip", []string{"p3"}, false},
	{"Patient", "_tag:missing=false", []string{"p3"}, false},

	// uri
	{"Patient", "_profile=https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient", []string{"p3"}, false},
	{"Patient", "_profile:below=https://fhir.hl7.org.uk/", []string{"p3"}, false},
	{"Patient", "_profile:above=https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient/extra", []string{"p3"}, false},

	// date: ranges at the value's precision
	{"Patient", "birthdate=1974", []string{"p1", "p2"}, false},
	{"Patient", "birthdate=1974-12", []string{"p1"}, false},
	{"Patient", "birthdate=1974-12-25", []string{"p1"}, false},
	{"Patient", "birthdate=eq1974-12-25T10:00", nil, false},
	{"Patient", "birthdate=ne1974", []string{"p3"}, false},
	{"Patient", "birthdate=gt1974-12-25", []string{"p2", "p3"}, false},
	{"Patient", "birthdate=lt1974-06", []string{"p2"}, false},
	{"Patient", "birthdate=ge1974-12-25", []string{"p1", "p2", "p3"}, false},
	{"Patient", "birthdate=le1974-12-24", []string{"p2"}, false},
	{"Patient", "birthdate=sa1975", []string{"p3"}, false},
	{"Patient", "birthdate=eb1975", []string{"p1", "p2"}, false},
	{"Patient", "birthdate=ge1974&birthdate=lt1975", []string{"p1", "p2"}, false},
	{"Patient", "birthdate=ap1974-12-25", []string{"p1", "p2"}, false},
	{"Observation", "date=2021", []string{"ob3"}, false},
	{"Observation", "date=ge2021", []string{"ob2", "ob3", "ob4"}, false},
	{"Observation", "date=gt2030", []string{"ob2"}, false},
	{"Observation", "date=2020-01-01T10:00:00Z", []string{"ob1"}, false},
	{"Observation", "date=2020-01-01T11:00:00%2B01:00", []string{"ob1"}, false},
	{"Observation", "date:missing=true", []string{"ob5", "ob6"}, false},
	{"Patient", "_lastUpdated=gt2000", []string{"p1", "p2", "p3"}, false},
	{"Patient", "_lastUpdated=lt2000", nil, false},

	// number with implicit precision
	{"RiskAssessment", "probability=0.85", []string{"ra1"}, false},
	{"RiskAssessment", "probability=0.8", nil, false},
	{"RiskAssessment", "probability=0.9", []string{"ra1"}, false},
	{"RiskAssessment", "probability=0.90", nil, false},
	{"RiskAssessment", "probability=ap0.8", []string{"ra1"}, false},
	{"RiskAssessment", "probability=gt0.85", nil, false},
	{"RiskAssessment", "probability=ge0.85", []string{"ra1"}, false},

	// quantity, with UCUM canonical units
	{"Observation", "value-quantity=70.5|http://unitsofmeasure.org|kg", []string{"ob2", "ob3"}, false},
	{"Observation", "value-quantity=70500|http://unitsofmeasure.org|g", []string{"ob2", "ob3"}, false},
	{"Observation", "value-quantity=gt70000||g", []string{"ob3"}, false},
	{"Observation", "value-quantity=gt155|http://unitsofmeasure.org|[lb_av]", []string{"ob2", "ob3"}, false},
	{"Observation", "value-quantity=gt156|http://unitsofmeasure.org|[lb_av]", nil, false},
	{"Observation", "value-quantity=0.0705|http://unitsofmeasure.org|t", []string{"ob2", "ob3"}, false},
	{"Observation", "value-quantity=1.2|http://unitsofmeasure.org|s-1", []string{"ob1"}, false},
	{"Observation", "value-quantity=4320|http://unitsofmeasure.org|/h", []string{"ob1"}, false},
	{"Observation", "value-quantity=72", []string{"ob1"}, false},
	{"Observation", "value-quantity=lt71|http://unitsofmeasure.org|kg", []string{"ob2", "ob3"}, false},
	{"Observation", "value-quantity=37.5|http://unitsofmeasure.org|Cel", []string{"ob5"}, false},
	{"Observation", "value-quantity=37|http://unitsofmeasure.org|Cel", nil, false},
	{"Observation", "value-quantity:missing=true", []string{"ob4", "ob6"}, false},
	{"Observation", "value-string=norm", []string{"ob6"}, false},

	// composite: both components from the same element
	{"Observation", "component-code-value-quantity=http://loinc.org|8480-6$gt100", []string{"ob4"}, false},
	{"Observation", "component-code-value-quantity=http://loinc.org|8462-4$gt100", nil, false},
	{"Observation", "code-value-quantity=http://loinc.org|29463-7$70.5|http://unitsofmeasure.org|kg", []string{"ob2", "ob3"}, false},

	// reference
	{"Observation", "subject=Patient/p1", []string{"ob1", "ob2"}, false},
	{"Observation", "subject=p1", []string{"ob1", "ob2"}, false},
	{"Observation", "subject:Patient=p2", []string{"ob3", "ob4"}, false},
	{"Observation", "patient=p3", []string{"ob5"}, false},
	{"Observation", "subject=https://elsewhere.example.org/fhir/Patient/x9", []string{"ob6"}, false},
	{"Observation", "subject=Patient/x9", nil, false},
	{"Observation", "performer:missing=false", []string{"ob1"}, false},
	{"Patient", "organization:identifier=RAE", nil, false},

	// chains, forward and reverse
	{"Observation", "subject:Patient.name=smith", []string{"ob1", "ob2"}, false},
	{"Observation", "patient.organization.name=bradford", []string{"ob3", "ob4"}, false},
	{"Observation", "patient.organization.partof.name=west", []string{"ob1", "ob2"}, false},
	{"Observation", "patient.organization.identifier=https://fhir.nhs.uk/Id/ods-organization-code|RAE", []string{"ob3", "ob4"}, false},
	{"Observation", "subject:Patient.birthdate=1974&code=29463-7", []string{"ob2", "ob3"}, false},
	{"Patient", "_has:Observation:patient:code=29463-7", []string{"p1", "p2"}, false},
	{"Patient", "_has:Observation:subject:value-quantity=gt100|http://unitsofmeasure.org|/min", nil, false},
	{"Organization", "_has:Patient:organization:_has:Observation:patient:code=85354-9", []string{"o2"}, false},
	{"Organization", "_has:Patient:organization:gender=female", []string{"o1"}, false},
	{"Patient", "_list=l1", []string{"p1", "p3"}, false},

	// full text
	{"Patient", "_text=penicillin", []string{"p1"}, false},
	{"Organization", "_content=yorkshire", []string{"o3"}, false},

	// system-level searches
	{"", "_id=p1,o2", []string{"p1", "o2"}, false},
	{"", "_type=Patient,Organization&name=leeds", []string{"o1"}, false},
	{"", "_type=Patient,Practitioner&name=jones", []string{"pr1"}, false},
	{"", "_tag=vip", []string{"p3"}, false},

	// sorting, several keys, descending
	{"Patient", "_sort=birthdate", []string{"p2", "p1", "p3"}, true},
	{"Patient", "_sort=-birthdate", []string{"p3", "p2", "p1"}, true},
	{"Patient", "_sort=gender,-family", []string{"p1", "p3", "p2"}, true},
	{"Observation", "code=29463-7&_sort=-date", []string{"ob2", "ob3"}, true},
	{"Patient", "_sort=_id", []string{"p1", "p2", "p3"}, true},
}
