package fhirpath

import (
	"errors"
	"fmt"
)

// ErrUnsupported is returned (wrapped) by Compile or Evaluate when an
// expression uses a feature this engine does not implement, such as
// conformsTo() or memberOf() without a hook. Callers that index or validate
// should treat the expression as unevaluable rather than as false: the
// engine never substitutes a guess for an unsupported feature.
var ErrUnsupported = errors.New("fhirpath: not supported")

// SyntaxError reports an expression that does not match the FHIRPath
// grammar. Pos is the byte offset in the expression.
type SyntaxError struct {
	Pos int
	Msg string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("fhirpath: syntax error at offset %d: %s", e.Pos, e.Msg)
}

func syntaxErr(pos int, msg string) error { return &SyntaxError{Pos: pos, Msg: msg} }

// EvalError reports a run-time failure that the specification defines as an
// error, for example calling single() on a collection of two items or using
// a collection of several items where one is required
// (http://hl7.org/fhirpath/N1/#singleton-evaluation-of-collections).
type EvalError struct {
	Msg string
}

func (e *EvalError) Error() string { return "fhirpath: " + e.Msg }

func evalErr(format string, args ...any) error {
	return &EvalError{Msg: fmt.Sprintf(format, args...)}
}

func unsupported(what string) error {
	return fmt.Errorf("%w: %s", ErrUnsupported, what)
}
