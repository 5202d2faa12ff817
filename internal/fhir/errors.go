// Package fhir holds the small core shared by every layer: FHIR errors and
// OperationOutcomes, resource ids, and order-preserving edits of resource
// JSON (meta.versionId, meta.lastUpdated, id).
package fhir

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// IssueType is an OperationOutcome.issue.code (value set issue-type).
type IssueType string

// The issue types Junction reports.
const (
	IssueInvalid       IssueType = "invalid"
	IssueStructure     IssueType = "structure"
	IssueRequired      IssueType = "required"
	IssueValue         IssueType = "value"
	IssueInvariant     IssueType = "invariant"
	IssueNotSupported  IssueType = "not-supported"
	IssueNotFound      IssueType = "not-found"
	IssueDeleted       IssueType = "deleted"
	IssueConflict      IssueType = "conflict"
	IssueDuplicate     IssueType = "duplicate"
	IssueTooCostly     IssueType = "too-costly"
	IssueProcessing    IssueType = "processing"
	IssueException     IssueType = "exception"
	IssueInformational IssueType = "informational"
	IssueSecurity      IssueType = "security"
	IssueLogin         IssueType = "login"
	IssueSuppressed    IssueType = "suppressed"
	IssueForbidden     IssueType = "forbidden"
	IssueBusinessRule  IssueType = "business-rule"
	IssueTransient     IssueType = "transient"
	IssueCodeInvalid   IssueType = "code-invalid"
	IssueTooLong       IssueType = "too-long"
)

// Severity is an OperationOutcome.issue.severity.
type Severity string

// Issue severities.
const (
	SeverityFatal       Severity = "fatal"
	SeverityError       Severity = "error"
	SeverityWarning     Severity = "warning"
	SeverityInformation Severity = "information"
)

// Issue is one OperationOutcome.issue.
type Issue struct {
	Severity    Severity
	Code        IssueType
	Diagnostics string
	// Expression holds FHIRPath locations of the element concerned, such
	// as "Patient.name[0].given[1]".
	Expression []string
}

// Error is a failure that the client caused or should see: it carries the
// HTTP status and the issues of the OperationOutcome that reports it. Every
// layer returns *Error for such failures; the HTTP layer renders it in one
// place. Any other error is internal and is never shown to the client.
type Error struct {
	Status int
	Issues []Issue
	// Header holds response headers that belong with the error (for
	// example ETag on 410 Gone); may be nil.
	Header http.Header
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d", e.Status)
	for _, is := range e.Issues {
		b.WriteString(": ")
		b.WriteString(is.Diagnostics)
		if len(is.Expression) > 0 {
			b.WriteString(" @ " + strings.Join(is.Expression, ","))
		}
	}
	return b.String()
}

// Errorf returns an *Error with one issue of severity error.
func Errorf(status int, code IssueType, format string, args ...any) *Error {
	return &Error{Status: status, Issues: []Issue{{Severity: SeverityError, Code: code, Diagnostics: fmt.Sprintf(format, args...)}}}
}

// At sets the expression of the error's first issue and returns e.
func (e *Error) At(expr ...string) *Error {
	if len(e.Issues) > 0 {
		e.Issues[0].Expression = expr
	}
	return e
}

// ErrorsOf returns the issues with severity error or fatal.
func ErrorsOf(issues []Issue) []Issue {
	var out []Issue
	for _, is := range issues {
		if is.Severity == SeverityError || is.Severity == SeverityFatal {
			out = append(out, is)
		}
	}
	return out
}

// Outcome renders issues as an OperationOutcome resource.
func Outcome(issues []Issue) []byte {
	type issueJSON struct {
		Severity    Severity  `json:"severity"`
		Code        IssueType `json:"code"`
		Diagnostics string    `json:"diagnostics,omitempty"`
		Expression  []string  `json:"expression,omitempty"`
	}
	out := struct {
		ResourceType string      `json:"resourceType"`
		Issue        []issueJSON `json:"issue"`
	}{ResourceType: "OperationOutcome"}
	for _, is := range issues {
		out.Issue = append(out.Issue, issueJSON{is.Severity, is.Code, is.Diagnostics, is.Expression})
	}
	if len(out.Issue) == 0 {
		out.Issue = append(out.Issue, issueJSON{Severity: SeverityInformation, Code: IssueInformational, Diagnostics: "All OK"})
	}
	b, _ := json.Marshal(out)
	return b
}
