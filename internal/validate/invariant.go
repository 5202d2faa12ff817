package validate

import (
	"errors"
	"fmt"
	"sync"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/fhir/spec"
	"github.com/nhs-junction/junction/internal/fhirpath"
)

// compiled caches the compiled form of each constraint expression, or
// the error that stops it from compiling.
var compiled sync.Map // expression -> *compiledExpr

type compiledExpr struct {
	expr *fhirpath.Expr
	err  error
}

func compile(expression string) *compiledExpr {
	if c, ok := compiled.Load(expression); ok {
		return c.(*compiledExpr)
	}
	e, err := fhirpath.Compile(expression)
	c, _ := compiled.LoadOrStore(expression, &compiledExpr{e, err})
	return c.(*compiledExpr)
}

// engineGaps are invariants the engine compiles but would evaluate
// wrongly, with the reason; they are reported as not evaluated. It is
// empty today; an entry names a defect of internal/fhirpath to fix.
var engineGaps = map[string]string{}

// NotEvaluable lists the invariants of the base specification whose
// expressions internal/fhirpath cannot compile, with the reason. Validate
// passes over them (with an information issue under
// Options.ReportNotEvaluated); they are never guessed to hold or fail.
// Invariants that compile may still not be evaluated on some input,
// when evaluation fails or gives no boolean.
func NotEvaluable() []NotEvaluated {
	var out []NotEvaluated
	for _, k := range spec.AllConstraints() {
		if reason, ok := engineGaps[k.Key]; ok {
			out = append(out, NotEvaluated{Constraint: k, Reason: reason})
		} else if c := compile(evaluated(k)); c.err != nil {
			out = append(out, NotEvaluated{Constraint: k, Reason: c.err.Error()})
		}
	}
	return out
}

// NotEvaluated is an invariant that could not be evaluated and why.
type NotEvaluated struct {
	spec.Constraint
	Reason string
}

// invariants evaluates the constraints that apply to v, a value of type
// typ held by the element with definition path def: those of the element
// itself and those of typ and its base types. For a primitive, v is its
// value (nil when it has none) and companion the "_name" object with its
// id and extensions.
func (s *semantic) invariants(v any, companion map[string]any, typ, def, path string, f *frame) {
	seen := map[string]bool{}
	var list []spec.Constraint
	if def != typ {
		list = append(list, spec.Constraints(def)...)
	}
	for t := typ; t != ""; t = spec.BaseType(t) {
		list = append(list, spec.Constraints(t)...)
	}
	for _, k := range list {
		if seen[k.Key] {
			continue
		}
		seen[k.Key] = true
		s.invariant(k, v, companion, typ, path, f)
	}
}

// invariant evaluates k with v (and a primitive's companion) as the
// focus, the resource of frame f as %resource and its container as
// %rootResource (R4 fhirpath.html#variables).
func (s *semantic) invariant(k spec.Constraint, v any, companion map[string]any, typ, path string, f *frame) {
	notEvaluated := func(reason string) {
		if s.opts.ReportNotEvaluated {
			s.info("inv|"+k.Key+"|"+reason, fhir.IssueInformational, path, "invariant %s was not evaluated: %s", k.Key, reason)
		}
	}
	if reason, ok := engineGaps[k.Key]; ok {
		notEvaluated(reason)
		return
	}
	c := compile(evaluated(k))
	if c.err != nil {
		notEvaluated(c.err.Error())
		return
	}
	var root any
	if f.contained {
		root = f.root
	}
	out, err := c.expr.Evaluate(f.res, &fhirpath.Options{Context: v, ContextCompanion: companion, ContextType: typ, RootResource: root, MemberOf: s.memberOf})
	if err != nil {
		notEvaluated(err.Error())
		return
	}
	ok, isBool := out.Bool()
	switch {
	case len(out) == 0:
		// An invariant holds when its expression is true (R4
		// conformance-rules.html#constraints). Empty is not true: for
		// example per-1 on a start and end equal up to the coarser of
		// their precisions, which FHIRPath cannot order
		// (http://hl7.org/fhirpath/N1/#comparison). The HL7 reference
		// validator fails it too (FHIRPathEngine.convertToBoolean).
		s.failed(k, path)
	case !isBool:
		notEvaluated("the expression did not give one boolean")
	case !ok:
		s.failed(k, path)
	}
}

// failed reports invariant k broken at path: a warning or an error, as
// its severity says.
func (s *semantic) failed(k spec.Constraint, path string) {
	if k.Severity == "warning" {
		s.note(fhir.SeverityWarning, fhir.IssueInvariant, path, "%s: %s", k.Key, k.Human)
		return
	}
	s.c.errorf(fhir.IssueInvariant, path, "%s: %s", k.Key, k.Human)
}

// memberOf answers FHIRPath memberOf() from the terminology registry. A
// value set that cannot be expanded is an error, so the invariant is
// reported as not evaluated.
func (s *semantic) memberOf(v any, valueSet string) (bool, error) {
	try := func(system, code string) (bool, error) {
		r, err := s.terms.ValidateCode(valueSet, system, code, "")
		return r.Valid, err
	}
	switch v := v.(type) {
	case string:
		return try("", v)
	case map[string]any:
		if code, ok := v["code"].(string); ok {
			system, _ := v["system"].(string)
			return try(system, code)
		}
		codings, _ := v["coding"].([]any)
		for _, c := range codings {
			m, _ := c.(map[string]any)
			code, _ := m["code"].(string)
			system, _ := m["system"].(string)
			ok, err := try(system, code)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	}
	return false, fmt.Errorf("%w: memberOf() of %T", errors.ErrUnsupported, v)
}
