package validate

import (
	"testing"

	"github.com/nhs-junction/junction/internal/fhir"
)

const (
	benchPatient     = `{"resourceType":"Patient","id":"example","meta":{"versionId":"1","lastUpdated":"2024-01-02T03:04:05.123Z"},"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">Peter James Chalmers</div>"},"identifier":[{"use":"usual","type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}]},"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9000000009"}],"active":true,"name":[{"use":"official","family":"Chalmers","given":["Peter","James"]}],"telecom":[{"system":"phone","value":"(03) 5555 6473","use":"work","rank":1}],"gender":"male","birthDate":"1974-12-25","_birthDate":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/patient-birthTime","valueDateTime":"1974-12-25T14:35:45-05:00"}]},"deceasedBoolean":false,"address":[{"use":"home","line":["534 Erewhon St"],"city":"PleasantVille","postalCode":"3999","period":{"start":"1974-12-25"}}],"contact":[{"relationship":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0131","code":"N"}]}],"name":{"family":"du Marché","given":["Bénédicte"]},"gender":"female"}],"managingOrganization":{"reference":"Organization/1"}}`
	benchObservation = `{"resourceType":"Observation","id":"f001","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"29463-7","display":"Body Weight"}]},"subject":{"reference":"Patient/example"},"effectiveDateTime":"2016-03-28T09:30:00+01:00","issued":"2016-03-28T10:00:00.000+01:00","performer":[{"reference":"Practitioner/f005"}],"valueQuantity":{"value":185,"unit":"lbs","system":"http://unitsofmeasure.org","code":"[lb_av]"},"interpretation":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation","code":"N"}]}],"referenceRange":[{"low":{"value":3.1,"unit":"mmol/l"},"high":{"value":6.2,"unit":"mmol/l"}}]}`
)

func FuzzStructure(f *testing.F) {
	for _, s := range []string{
		benchPatient, benchObservation, `null`, `[]`, `{}`, `{"resourceType":"Patient"}`,
		`{"resourceType":"Patient","name":[{"given":["a",null],"_given":[null,{"id":"x"}]}]}`,
		`{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Questionnaire","status":"draft","item":[{"linkId":"1","type":"group","item":[{"linkId":"2","type":"string"}]}]}}]}`,
		`{"resourceType":"Patient","birthDate":"2023-02-30","multipleBirthInteger":1e3,"a":"\u0000\ud800"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, is := range StructureWith(b, Options{Required: true}) {
			if is.Diagnostics == "" || is.Code == "" || is.Severity == "" {
				t.Fatalf("incomplete issue %+v", is)
			}
		}
		_ = fhir.Outcome(Structure(b))
	})
}

func BenchmarkStructure(b *testing.B) {
	for _, bc := range []struct{ name, in string }{{"Patient", benchPatient}, {"Observation", benchObservation}} {
		in := []byte(bc.in)
		if issues := fhir.ErrorsOf(Structure(in)); len(issues) > 0 {
			b.Fatalf("%s: %+v", bc.name, issues)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				Structure(in)
			}
		})
	}
}
