package validate

import (
	"strings"

	"github.com/nhs-junction/junction/internal/fhir/spec"
)

// evaluated returns the expression Validate evaluates for invariant k.
//
// An invariant holds only when its expression evaluates to true (R4
// conformance-rules.html#constraints); an empty result fails it, as it
// does in the HL7 reference validator (FHIRPathEngine.convertToBoolean).
// A few expressions that R4 published are empty, or an error, on valid
// content: they forget that the element they test may be absent, or
// apply a singleton operator to a repeating element. For those, the
// reference validator evaluates a corrected expression in their place
// (org.hl7.fhir.validation, FHIRPathExpressionFixer, for R4), and so does
// this function, keyed by the published expression so that a profile
// that reuses a key with its own expression is evaluated as written.
//
// Where the correction would make the rule never fire (the validator's
// con-3 tests exists(...).empty(), which is always false), the rule is
// written as its human description states it instead.
func evaluated(k spec.Constraint) string {
	e := k.Expression
	switch {
	case strings.HasSuffix(k.Key, "-0") && strings.HasPrefix(e, "name.matches('") && strings.HasSuffix(e, "')"):
		// The name rule of every canonical resource (adf-0, sdf-0, ...):
		// "Name should be usable as an identifier for the module by
		// machine processing applications such as code generation", so
		// the whole name must match, and an absent name breaks nothing.
		re := e[len("name.matches('") : len(e)-len("')")]
		return "name.exists() implies name.matches('^" + re + "$')"
	case k.Key == "eld-19" || k.Key == "eld-20":
		// ElementDefinition.path: the whole path must match.
		if re, ok := strings.CutPrefix(e, "path.matches('"); ok && strings.HasSuffix(re, "')") {
			return "path.matches('^" + strings.TrimSuffix(re, "')") + "$')"
		}
	}
	if fixed, ok := validatorFixes[k.Key+"\x00"+e]; ok {
		return fixed
	}
	return e
}

// validatorFixes maps key and published expression to the expression
// evaluated instead; see evaluated.
var validatorFixes = map[string]string{
	// bdl-8 "fullUrl cannot be a version specific reference": a Bundle
	// entry may have no fullUrl.
	"bdl-8\x00fullUrl.contains('/_history/').not()": "fullUrl.exists() implies fullUrl.contains('/_history/').not()",
	// ref-1 "SHALL have a contained resource if a local reference is
	// provided": a Reference may carry only an identifier or a display,
	// and "#" alone refers to the container (R4 references.html#contained).
	"ref-1\x00reference.startsWith('#').not() or (reference.substring(1).trace('url') in %rootResource.contained.id.trace('ids'))": "reference.exists() implies (reference = '#' or reference.startsWith('#').not() or (reference.substring(1) in %rootResource.contained.id))",
	// ras-2 "Must be <= 100": a prediction may have no probability.
	"ras-2\x00probability is decimal implies (probability as decimal) <= 100": "(probability.exists() and (probability is decimal)) implies ((probability as decimal) <= 100)",
	// que-12 "If there are more than one enableWhen, enableBehavior must
	// be specified": more than one is two or more.
	"que-12\x00enableWhen.count() > 2 implies enableBehavior.exists()": "enableWhen.count() >= 2 implies enableBehavior.exists()",
	// que-7 "If the operator is 'exists', the value must be a boolean":
	// answer[x] holds a FHIR boolean, never a System.Boolean.
	"que-7\x00operator = 'exists' implies (answer is Boolean)": "operator = 'exists' implies (answer is boolean)",
	// tim-9 "If there's an offset, there must be a when (and not C, CM,
	// CD, CV)": when repeats, so `in` applies to each of its values.
	"tim-9\x00offset.empty() or (when.exists() and ((when in ('C' | 'CM' | 'CD' | 'CV')).not()))": "offset.empty() or (when.exists() and when.select($this in ('C' | 'CM' | 'CD' | 'CV')).allFalse())",
	// dom-6 "A resource should have narrative for robust management":
	// "Contained resources do not have narrative" (R4
	// domainresource.html), so the rule asks only a resource that is not
	// contained, one that is its own %rootResource.
	"dom-6\x00text.`div`.exists()": "(%rootResource != $this) or text.`div`.exists()",
	// opd-3 "A targetProfile can only be specified for parameters of
	// type Reference or Canonical": R4 also lets a parameter's type be a
	// resource type, whose targetProfile names a profile of it.
	"opd-3\x00targetProfile.exists() implies (type = 'Reference' or type = 'canonical')": "targetProfile.exists() implies (type = 'Reference' or type = 'canonical' or type.memberOf('http://hl7.org/fhir/ValueSet/resource-types'))",
	// con-3 "Condition.clinicalStatus SHALL be present if
	// verificationStatus is not entered-in-error and category is
	// problem-list-item": the published expression compares a
	// CodeableConcept with a string.
	"con-3\x00clinicalStatus.exists() or verificationStatus.coding.where(system='http://terminology.hl7.org/CodeSystem/condition-ver-status' and code = 'entered-in-error').exists() or category.select($this='problem-list-item').empty()": "(verificationStatus.coding.where(system = 'http://terminology.hl7.org/CodeSystem/condition-ver-status' and code = 'entered-in-error').empty() and category.coding.where(system = 'http://terminology.hl7.org/CodeSystem/condition-category' and code = 'problem-list-item').exists()) implies clinicalStatus.exists()",
}
