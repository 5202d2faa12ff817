package fhirpath

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

const observationJSON = `{
  "resourceType": "Observation",
  "id": "o1",
  "status": "final",
  "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7", "display": "Body Weight"}], "text": "weight"},
  "subject": {"reference": "Patient/123"},
  "performer": [{"reference": "http://example.org/fhir/Practitioner/9/_history/2"}, {"reference": "Organization/7"}, {"reference": "urn:uuid:1234"}],
  "effectiveDateTime": "2016-03-28T09:30:10+01:00",
  "valueQuantity": {"value": 185.00, "unit": "lbs", "system": "http://unitsofmeasure.org", "code": "[lb_av]"},
  "component": [
    {"code": {"text": "a"}, "valueString": "x"},
    {"code": {"text": "b"}, "valueCodeableConcept": {"text": "cc"}}
  ]
}`

const patientJSON = `{
  "resourceType": "Patient",
  "id": "p1",
  "active": true,
  "birthDate": "1974-12-25",
  "_birthDate": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime", "valueDateTime": "1974-12-25T14:35:45-05:00"}]},
  "name": [
    {"use": "official", "family": "Chalmers", "given": ["Peter", "James"]},
    {"use": "usual", "given": ["Jim"], "_given": [{"extension": [{"url": "http://x/nick", "valueBoolean": true}]}]}
  ],
  "contact": [{"name": {"family": "du Marché"}, "gender": "female"}],
  "contained": [{"resourceType": "Organization", "id": "org1", "name": "Acme"}],
  "managingOrganization": {"reference": "#org1"},
  "generalPractitioner": [{"type": "Practitioner", "display": "Dr X"}]
}`

func decode(t testing.TB, s string) any {
	t.Helper()
	return decodeJSON(t, []byte(s))
}

type evalCase struct {
	expr string
	want string // items rendered as "type:value" joined by ", "; "error" or "unsupported"
}

func render(c Collection) string {
	parts := make([]string, 0, len(c))
	for _, it := range c {
		v := it.Value()
		if m, ok := v.(map[string]any); ok {
			b, _ := json.Marshal(m)
			v = string(b)
		}
		parts = append(parts, fmt.Sprintf("%s:%v", it.Type(), v))
	}
	return strings.Join(parts, ", ")
}

func runCases(t *testing.T, resource any, opts *Options, cases []evalCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.expr, func(t *testing.T) {
			e, err := Compile(tc.expr)
			var got string
			if err == nil {
				var out Collection
				out, err = e.Evaluate(resource, opts)
				got = render(out)
			}
			switch {
			case errors.Is(err, ErrUnsupported):
				got = "unsupported"
			case err != nil:
				got = "error"
			}
			if got != tc.want {
				t.Errorf("%s\n got: %s (%v)\nwant: %s", tc.expr, got, err, tc.want)
			}
		})
	}
}

func TestNavigationAndTypes(t *testing.T) {
	obs := decode(t, observationJSON)
	runCases(t, obs, nil, []evalCase{
		{"Observation.status", "code:final"},
		{"status", "code:final"},
		{"Observation.code.text", "string:weight"},
		{"Observation.code", `CodeableConcept:{"coding":[{"code":"29463-7","display":"Body Weight","system":"http://loinc.org"}],"text":"weight"}`},
		{"Observation.code.coding.code", "code:29463-7"},
		{"Observation.value.value", "decimal:185.00"},
		{"Observation.value.unit", "string:lbs"},
		{"Observation.value is Quantity", "System.Boolean:true"},
		{"Observation.value.is(Period)", "System.Boolean:false"},
		{"(Observation.value as Quantity).code", "code:[lb_av]"},
		{"Observation.value.ofType(Quantity).unit", "string:lbs"},
		{"Observation.value as CodeableConcept", ""},
		{"Observation.valueQuantity.unit", "string:lbs"},
		{"Observation.effective", "dateTime:2016-03-28T09:30:10+01:00"},
		{"Observation.component.value", `string:x, CodeableConcept:{"text":"cc"}`},
		{"(Observation.component.value as CodeableConcept).text", "string:cc"},
		{"Observation.component[1].code.text", "string:b"},
		{"Observation.component.code", `CodeableConcept:{"text":"a"}, CodeableConcept:{"text":"b"}`},
		{"Observation.component.first()", `BackboneElement:{"code":{"text":"a"},"valueString":"x"}`},
		{"Observation.nothing", ""},
		{"Patient.id", ""},
		{"Observation.id", "id:o1"},
		{"Observation.is(Observation) and Observation.is(DomainResource) and Observation.is(Resource)", "System.Boolean:true"},
		{"Observation.value.type().name", "System.String:Quantity"},
		{"Observation.value.unit.type().namespace", "System.String:FHIR"},
		{"1.type().name", "System.String:Integer"},
	})
}

func TestPrimitiveExtensions(t *testing.T) {
	pat := decode(t, patientJSON)
	runCases(t, pat, nil, []evalCase{
		{"Patient.birthDate", "date:1974-12-25"},
		{"Patient.birthDate.extension('http://hl7.org/fhir/StructureDefinition/patient-birthTime').value", "dateTime:1974-12-25T14:35:45-05:00"},
		{"Patient.birthDate.hasValue()", "System.Boolean:true"},
		{"Patient.name.given", "string:Peter, string:James, string:Jim"},
		{"Patient.name.given.extension('http://x/nick').value", "boolean:true"},
		{"Patient.name.where(use = 'usual').given.hasValue()", "System.Boolean:true"},
		{"Patient.contact.name.family", "string:du Marché"},
		{"Patient.contact.gender", "code:female"},
		{"Patient.contained.name", "string:Acme"},
		{"Patient.contained.is(Organization)", "System.Boolean:true"},
		{"Patient.birthDate.getValue()", "System.Date:1974-12-25"},
		{"Patient.name.getValue()", ""},
		{"Patient.active.hasValue()", "System.Boolean:true"},
		{"Patient.name.hasValue()", "System.Boolean:false"},
		{"Patient.children().count() > 5", "System.Boolean:true"},
		{"Patient.descendants().where($this = 'Jim').count()", "System.Integer:1"},
		{"Patient.name.children().count()", "System.Integer:6"},
	})
}

func TestResolve(t *testing.T) {
	obs := decode(t, observationJSON)
	pat := decode(t, patientJSON)
	runCases(t, obs, nil, []evalCase{
		{"Observation.subject.resolve() is Patient", "System.Boolean:true"},
		{"Observation.subject.where(resolve() is Patient)", `Reference:{"reference":"Patient/123"}`},
		{"Observation.subject.where(resolve() is Group)", ""},
		{"Observation.performer.where(resolve() is Practitioner).reference", "string:http://example.org/fhir/Practitioner/9/_history/2"},
		{"Observation.performer.resolve().ofType(Organization)", "Organization:Organization/7"},
		{"Observation.performer.resolve().count()", "System.Integer:2"},
		{"Observation.subject.resolve().id", ""},
	})
	runCases(t, pat, nil, []evalCase{
		{"Patient.managingOrganization.resolve().name", "string:Acme"},
		{"Patient.generalPractitioner.resolve() is Practitioner", "System.Boolean:true"},
	})
	withHook := &Options{Resolve: func(ref string) (any, bool) {
		if ref == "Patient/123" {
			return decode(t, patientJSON), true
		}
		return nil, false
	}}
	runCases(t, obs, withHook, []evalCase{
		{"Observation.subject.resolve().birthDate", "date:1974-12-25"},
		{"Observation.performer.resolve().count()", "System.Integer:2"},
	})
}

func TestLiteralsAndOperators(t *testing.T) {
	runCases(t, nil, nil, []evalCase{
		{"1 + 2 * 3", "System.Integer:7"},
		{"(1 + 2) * 3", "System.Integer:9"},
		{"-2.5.abs()", "System.Decimal:-2.5"},
		{"(-2.5).abs()", "System.Decimal:2.5"},
		{"7 div 2", "System.Integer:3"},
		{"7 mod 2", "System.Integer:1"},
		{"-7 mod 2", "System.Integer:-1"},
		{"7 / 2", "System.Decimal:3.5"},
		{"1 / 3", "System.Decimal:0.33333333"},
		{"1 / 0", ""},
		{"0.1 + 0.2 = 0.3", "System.Boolean:true"},
		{"1.0 = 1.00", "System.Boolean:true"},
		{"1.10 + 2.205", "System.Decimal:3.305"},
		{"9223372036854775807 + 1", ""},
		{"'a' + 'b'", "System.String:ab"},
		{"'a' & {}", "System.String:a"},
		{"'a' + {}", ""},
		{"{} = {}", ""},
		{"{} ~ {}", "System.Boolean:true"},
		{"'Abc  d' ~ 'abc d'", "System.Boolean:true"},
		{"'Abc' = 'abc'", "System.Boolean:false"},
		{"1 | 2 | 1", "System.Integer:1, System.Integer:2"},
		{"(1 | 2).combine(1).count()", "System.Integer:3"},
		{"2 in (1 | 2)", "System.Boolean:true"},
		{"(1 | 2) contains 3", "System.Boolean:false"},
		{"{} in (1 | 2)", ""},
		{"true and {}", ""},
		{"false and {}", "System.Boolean:false"},
		{"true or {}", "System.Boolean:true"},
		{"{} or false", ""},
		{"true xor false", "System.Boolean:true"},
		{"{} implies false", ""},
		{"false implies {}", "System.Boolean:true"},
		{"{} implies true", "System.Boolean:true"},
		{"1 < 2 and 'a' < 'b' and 2.0 >= 2", "System.Boolean:true"},
		{"1 < 'a'", "error"},
		{"(1 | 2) = 1", "System.Boolean:false"},
		{"(1 | 2) + 1", "error"},
		{"1 is Integer and 1 is System.Integer and 'x' is String", "System.Boolean:true"},
		{"1.5 as Decimal", "System.Decimal:1.5"},
		{"1L", "System.Integer:1"},
		{"'\\u0041\\t'.length()", "System.Integer:2"},
		{"`true`", ""},
		{"%ucum", "System.String:http://unitsofmeasure.org"},
		{"%`vs-administrative-gender`", "System.String:http://hl7.org/fhir/ValueSet/administrative-gender"},
		{"%nope", "error"},
		{"(1 | 2 | 3)[1]", "System.Integer:2"},
		{"(1 | 2 | 3)[5]", ""},
		{"'2020-01-01' = @2020-01-01", "System.Boolean:false"},
	})
}

func TestDatesAndQuantities(t *testing.T) {
	pat := decode(t, patientJSON)
	runCases(t, pat, nil, []evalCase{
		{"Patient.birthDate = @1974-12-25", "System.Boolean:true"},
		{"Patient.birthDate < @1975", "System.Boolean:true"},
		{"Patient.birthDate = @1974", ""},
		{"Patient.birthDate ~ @1974", "System.Boolean:false"},
		{"@2012-01 < @2012-01-15", ""},
		{"@2012-01 < @2012-02-15", "System.Boolean:true"},
		{"@2012-04-15T15:00:00+02:00 = @2012-04-15T16:00:00+03:00", "System.Boolean:true"},
		{"@2012-04-15T15:00:00.000 = @2012-04-15T15:00:00", "System.Boolean:true"},
		{"@2012-04-15T15:00 = @2012-04-15T15:00:00", ""},
		{"@T10:00 < @T11:00", "System.Boolean:true"},
		{"@2019-01-31 + 1 month", "System.Date:2019-02-28"},
		{"@2019-02-28T10:00:00Z - 2 hours", "System.DateTime:2019-02-28T08:00:00Z"},
		{"@2019-02-28 + 1 'a'", "error"},
		{"@2019-13-01", "error"},
		{"4.0 'g' = 4000 'mg'", "System.Boolean:true"},
		{"1 'kg' > 900 'g'", "System.Boolean:true"},
		{"1 'kg' = 1 'm'", ""},
		{"1 year = 1 'a'", ""},
		{"1 week = 7 days", "System.Boolean:true"},
		{"2 'mg' + 3 'mg'", `System.Quantity:{"code":"mg","system":"http://unitsofmeasure.org","unit":"mg","value":5}`},
		{"'10 mg'.toQuantity()", ""},
		{"'10 \\'mg\\''.toQuantity()", `System.Quantity:{"code":"mg","system":"http://unitsofmeasure.org","unit":"mg","value":10}`},
		{"1 'g'.toQuantity('mg')", `System.Quantity:{"code":"mg","system":"http://unitsofmeasure.org","unit":"mg","value":1000}`},
		{"today() > @2000-01-01", "System.Boolean:true"},
		{"now().toString().length() > 10", "System.Boolean:true"},
	})
}

func TestFunctions(t *testing.T) {
	pat := decode(t, patientJSON)
	runCases(t, pat, nil, []evalCase{
		{"name.exists()", "System.Boolean:true"},
		{"name.exists(use = 'temp')", "System.Boolean:false"},
		{"name.all(given.exists())", "System.Boolean:true"},
		{"name.given.count()", "System.Integer:3"},
		{"name.given.first() | name.given.last()", "string:Peter, string:Jim"},
		{"name.given.tail().skip(1).take(5)", "string:Jim"},
		{"name.given.single()", "error"},
		{"name.first().family.single()", "string:Chalmers"},
		{"name.select(given.count())", "System.Integer:2, System.Integer:1"},
		{"name.given.where($index > 0)", "string:James, string:Jim"},
		{"name.given.distinct().count() = name.given.count()", "System.Boolean:true"},
		{"name.given.isDistinct()", "System.Boolean:true"},
		{"name.given.intersect('Jim' | 'X')", "string:Jim"},
		{"name.given.exclude('Jim')", "string:Peter, string:James"},
		{"('Jim').subsetOf(name.given)", "System.Boolean:true"},
		{"name.given.supersetOf('Jim' | 'X')", "System.Boolean:false"},
		{"(true | false).allTrue()", "System.Boolean:false"},
		{"(true | false).anyTrue()", "System.Boolean:true"},
		{"(false).allFalse() and (true | false).anyFalse()", "System.Boolean:true"},
		{"iif(active, 'y', 'n')", "System.String:y"},
		{"iif({}, 'y')", ""},
		{"active.not()", "System.Boolean:false"},
		{"name.given.first().upper() + name.given.last().lower()", "System.String:PETERjim"},
		{"'abcdef'.substring(2, 2) & 'abc'.substring(5)", "System.String:cd"},
		{"'abc'.indexOf('c')", "System.Integer:2"},
		{"'abc'.startsWith('ab') and 'abc'.endsWith('bc') and 'abc'.contains('b')", "System.Boolean:true"},
		{"'a.b.c'.replace('.', '-')", "System.String:a-b-c"},
		{"'abc123'.matches('[0-9]+')", "System.Boolean:true"},
		{"'abc123'.replaceMatches('[0-9]', '#')", "System.String:abc###"},
		{"'héllo'.length()", "System.Integer:5"},
		{"'ab'.toChars()", "System.String:a, System.String:b"},
		{"name.given.length()", "error"},
		{"'1.50'.toDecimal() + 1", "System.Decimal:2.50"},
		{"'12'.toInteger() + 1", "System.Integer:13"},
		{"'yes'.toBoolean()", "System.Boolean:true"},
		{"'x'.convertsToInteger()", "System.Boolean:false"},
		{"1.5.toString()", "System.String:1.5"},
		{"'2020-01-02T10:00:00Z'.toDateTime()", "System.DateTime:2020-01-02T10:00:00Z"},
		{"'2020-01-02'.toDate() = @2020-01-02", "System.Boolean:true"},
		{"'10:00'.toTime()", "System.Time:10:00"},
		{"16.sqrt() = 4.0 and 2.power(10) = 1024 and 8.log(2) = 3.0", "System.Boolean:true"},
		{"1.5.ceiling() = 2 and (-1.5).floor() = -2 and 1.5.truncate() = 1", "System.Boolean:true"},
		{"3.14159.round(2)", "System.Decimal:3.14"},
		{"2.5.round()", "System.Decimal:3"},
		{"(-1).ln()", ""},
		{"1.exp() > 2.71", "System.Boolean:true"},
		{"(1 | 2).repeat($this)", "System.Integer:1, System.Integer:2"},
		{"name.trace('n').count()", "System.Integer:2"},
		{"htmlChecks()", "System.Boolean:true"},
		{"conformsTo('http://hl7.org/fhir/StructureDefinition/Patient')", "unsupported"},
		{"gender.memberOf('http://hl7.org/fhir/ValueSet/administrative-gender')", "unsupported"},
		{"name.aggregate($total + 1, 0)", "System.Integer:2"},
		{"name.given.sort(-$this)", "string:Peter, string:Jim, string:James"},
		{"name.lowBoundary()", "unsupported"},
		{"name.frobnicate()", "error"},
		{"name.is(HumanName)", "error"},
		{"name.first().as(Strange)", "error"},
		{"name.exists() or telecom.exists()", "System.Boolean:true"},
		{"hasValue() or (children().count() > id.count())", "System.Boolean:true"},
	})
}

func TestOptions(t *testing.T) {
	pat := decode(t, patientJSON)
	var traced []string
	opts := &Options{
		Variables: map[string]any{"who": "Jim"},
		MemberOf: func(code any, vs string) (bool, error) {
			return code == "female" && strings.HasSuffix(vs, "gender"), nil
		},
		Trace: func(name string, c Collection) { traced = append(traced, fmt.Sprint(name, len(c))) },
	}
	runCases(t, pat, opts, []evalCase{
		{"name.where(given = %who).use", "code:usual"},
		{"contact.gender.memberOf('http://hl7.org/fhir/ValueSet/administrative-gender')", "System.Boolean:true"},
		{"name.trace('names', given).count()", "System.Integer:2"},
		{"%resource.id", "id:p1"},
	})
	if len(traced) != 1 || traced[0] != "names3" {
		t.Errorf("trace output %v", traced)
	}
	ctx := decode(t, `{"use":"official","family":"X"}`)
	e := MustCompile("family.exists() and %context.use = 'official' and %resource.id = 'p1'")
	out, err := e.Evaluate(pat, &Options{Context: ctx, ContextType: "HumanName"})
	if v, ok := out.Bool(); err != nil || !ok || !v {
		t.Errorf("context evaluation: %v %v", render(out), err)
	}
}

func TestSyntaxErrors(t *testing.T) {
	for _, src := range []string{
		"", "1 +", "(1", "name.", "name[1", "'abc", "/* x", "1 is", "@2012-1", "$that", "%", "a..b", "f(1,)",
		"name.where(", "1 2", "and", "{1}", strings.Repeat("(", 1000) + "1" + strings.Repeat(")", 1000),
	} {
		if _, err := Compile(src); err == nil {
			t.Errorf("Compile(%q) succeeded", src)
		}
	}
	_, err := Compile("1 +")
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Errorf("want *SyntaxError, got %T", err)
	}
}

func TestResourceLimits(t *testing.T) {
	runCases(t, nil, nil, []evalCase{
		{"(1).repeat($this + 1)", "error"},
		{"('ab').repeat($this + $this)", "error"},
		{"2.power(100000000)", ""},
		{"(-1).power(101)", "System.Integer:-1"},
		{"1.power(100)", "System.Integer:1"},
		{"2.power(10)", "System.Integer:1024"},
	})
}

// TestConcurrentEvaluate shares one compiled expression between goroutines,
// as the indexer does; run it with -race.
func TestConcurrentEvaluate(t *testing.T) {
	obs := decode(t, observationJSON)
	e := MustCompile("Observation.subject.where(resolve() is Patient).reference | (Observation.value as Quantity).unit | Observation.code.coding.where(code.matches('^[0-9-]+$')).code")
	want := "string:Patient/123, string:lbs, code:29463-7"
	done := make(chan string)
	for range 8 {
		go func() {
			var got string
			for range 200 {
				out, err := e.Evaluate(obs, nil)
				if err != nil {
					got = err.Error()
					break
				}
				got = render(out)
			}
			done <- got
		}()
	}
	for range 8 {
		if got := <-done; got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
}

func TestSystemTypeCasts(t *testing.T) {
	obs := decode(t, `{"resourceType":"Observation","valueDateTime":"2020-01-02","component":[{"valueBoolean":true}]}`)
	runCases(t, obs, nil, []evalCase{
		{"value.as(DateTime)", "dateTime:2020-01-02"},
		{"value.ofType(DateTime)", "dateTime:2020-01-02"},
		{"value is DateTime", "System.Boolean:false"},
		{"value.as(System.DateTime)", ""},
		{"value.as(Date)", ""},
		{"component.value.as(Boolean)", "boolean:true"},
		{"`component`.`count`()", "System.Integer:1"},
	})
}
