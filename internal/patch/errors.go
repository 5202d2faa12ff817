package patch

import (
	"fmt"
	"net/http"

	"github.com/nhs-junction/junction/internal/fhir"
)

// malformed reports a patch document that is not a well-formed patch in
// its format. The request itself is wrong, so the status is 400
// (https://hl7.org/fhir/R4/http.html#patch: the body must be a valid
// JSON Patch or FHIRPath Patch document).
func malformed(format string, args ...any) *fhir.Error {
	return fhir.Errorf(http.StatusBadRequest, fhir.IssueStructure, format, args...)
}

// unprocessable reports a well-formed patch that cannot be applied to
// this resource: a failed test, a path that does not exist, a path that
// matches several elements. RFC 5789 section 2.2 names 422 Unprocessable
// Entity for a patch that is valid but cannot be applied to the resource.
func unprocessable(code fhir.IssueType, format string, args ...any) *fhir.Error {
	return fhir.Errorf(http.StatusUnprocessableEntity, code, format, args...)
}

// opError prefixes the diagnostics of err with the operation that failed,
// so a client with a long patch sees which one to fix.
func opError(err *fhir.Error, format string, args ...any) *fhir.Error {
	prefix := fmt.Sprintf(format, args...)
	for i := range err.Issues {
		err.Issues[i].Diagnostics = prefix + ": " + err.Issues[i].Diagnostics
	}
	return err
}

// resourceError reports a stored resource that is not a JSON object. It
// is not the client's doing, so it is a plain error that the HTTP layer
// treats as internal.
func resourceError(err error) error {
	return fmt.Errorf("patch: resource is not valid JSON: %w", err)
}
