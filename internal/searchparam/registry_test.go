package searchparam

// testRegistry is a slice of R4 large enough to exercise every kind of
// parameter, chain and _has.
func testRegistry() *Table {
	ref := func(name, expr string, targets ...string) *Def {
		return &Def{Name: name, Kind: KindReference, Expression: expr, Targets: targets}
	}
	types := []string{"Patient", "Observation", "Organization", "Practitioner", "Group", "Device", "Location", "List", "Encounter", "RiskAssessment", "PlanDefinition", "AuditEvent"}
	defs := map[string][]*Def{
		"Patient": {
			{Name: "name", Kind: KindString, Expression: "Patient.name"},
			{Name: "family", Kind: KindString, Expression: "Patient.name.family"},
			{Name: "birthdate", Kind: KindDate, Expression: "Patient.birthDate"},
			{Name: "gender", Kind: KindToken, Expression: "Patient.gender"},
			{Name: "identifier", Kind: KindToken, Expression: "Patient.identifier"},
			ref("organization", "Patient.managingOrganization", "Organization"),
			ref("general-practitioner", "Patient.generalPractitioner", "Organization", "Practitioner"),
			ref("link", "Patient.link.other", "Patient", "RelatedPerson"),
		},
		"Observation": {
			{Name: "code", Kind: KindToken, Expression: "Observation.code"},
			{Name: "date", Kind: KindDate, Expression: "Observation.effective"},
			{Name: "value-quantity", Kind: KindQuantity, URL: "http://hl7.org/fhir/SearchParameter/Observation-value-quantity", Expression: "(Observation.value as Quantity)"},
			{Name: "value-string", Kind: KindString, Expression: "(Observation.value as string)"},
			{Name: "code-value-quantity", Kind: KindComposite, Expression: "Observation", Components: []Component{
				{Definition: "http://hl7.org/fhir/SearchParameter/clinical-code", Expression: "code"},
				{Definition: "http://hl7.org/fhir/SearchParameter/Observation-value-quantity", Expression: "value.as(Quantity)"},
			}},
			ref("subject", "Observation.subject", "Patient", "Group", "Device", "Location"),
			ref("patient", "Observation.subject.where(resolve() is Patient)", "Patient"),
			ref("performer", "Observation.performer", "Practitioner", "Organization", "Patient"),
			ref("encounter", "Observation.encounter", "Encounter"),
		},
		"Organization": {
			{Name: "name", Kind: KindString, Expression: "Organization.name"},
			ref("partof", "Organization.partOf", "Organization"),
		},
		"Practitioner": {{Name: "name", Kind: KindString, Expression: "Practitioner.name"}},
		"Group":        {{Name: "name", Kind: KindToken, Expression: "Group.code"}},
		"List":         {ref("item", "List.entry.item")},
		"Location":     {{Name: "near", Kind: KindSpecial, Expression: "Location.position"}},
		"RiskAssessment": {
			{Name: "probability", Kind: KindNumber, Expression: "RiskAssessment.prediction.probability"},
		},
		"PlanDefinition": {{Name: "url", Kind: KindURI, Expression: "PlanDefinition.url"}},
		"AuditEvent":     {ref("entity", "AuditEvent.entity.what"), ref("agent", "AuditEvent.agent.who", "Practitioner", "Patient")},
	}
	// clinical-code is a shared parameter, reachable by URL
	defs["Observation"] = append(defs["Observation"], &Def{Name: "clinical-code-holder", Kind: KindToken, URL: "http://hl7.org/fhir/SearchParameter/clinical-code", Expression: "Observation.code"})
	return NewTable(types, defs)
}
