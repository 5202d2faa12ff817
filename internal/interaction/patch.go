package interaction

import (
	"encoding/base64"
	"encoding/json"
	"errors"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/patch"
)

// patchFunc picks the patch format (R4 http.html#patch): JSON Patch when
// the body is sent as application/json-patch+json (or, inside a bundle,
// as a Binary of that type), FHIRPath Patch when it is a Parameters
// resource.
func patchFunc(req *Request) (func([]byte) ([]byte, error), error) {
	body := req.Body
	if len(body) == 0 {
		return nil, fhir.Errorf(400, fhir.IssueRequired, "PATCH needs a JSON Patch document or a FHIRPath Patch Parameters resource")
	}
	if req.ContentType == "application/json-patch+json" {
		return func(cur []byte) ([]byte, error) { return patch.ApplyJSONPatch(cur, body) }, nil
	}
	obj, err := fhir.ParseObject(body)
	if err != nil {
		return nil, fhir.Errorf(400, fhir.IssueStructure, "The patch is not a JSON object; send JSON Patch as application/json-patch+json")
	}
	switch rt, _ := obj.GetString("resourceType"); rt {
	case "Parameters":
		return func(cur []byte) ([]byte, error) { return patch.ApplyFHIRPathPatch(cur, body) }, nil
	case "Binary":
		ct, _ := obj.GetString("contentType")
		data, _ := obj.GetString("data")
		doc, err := base64.StdEncoding.DecodeString(data)
		if ct != "application/json-patch+json" || err != nil || !json.Valid(doc) {
			return nil, fhir.Errorf(400, fhir.IssueInvalid, "A Binary patch must have contentType application/json-patch+json and base64 JSON Patch data")
		}
		return func(cur []byte) ([]byte, error) { return patch.ApplyJSONPatch(cur, doc) }, nil
	}
	return nil, fhir.Errorf(400, fhir.IssueInvalid, "A FHIR JSON patch body must be a Parameters resource (FHIRPath Patch)")
}

// patched applies the patch to the current body and checks the result:
// still the same resource, and valid, or the patch is refused with 422.
func (op *writeOp) patched(cur []byte) (*fhir.Object, error) {
	out, err := op.patch(cur)
	if err != nil {
		return nil, err
	}
	obj, err := fhir.ParseObject(out)
	if err != nil {
		return nil, fhir.Errorf(422, fhir.IssueProcessing, "The patched result is not a JSON object")
	}
	if rt, _ := obj.GetString("resourceType"); rt != op.typ {
		return nil, fhir.Errorf(422, fhir.IssueProcessing, "The patch changes resourceType, which is not allowed").At("resourceType")
	}
	if id, _ := obj.GetString("id"); id != op.id {
		return nil, fhir.Errorf(422, fhir.IssueProcessing, "The patch changes the id, which is not allowed").At(op.typ + ".id")
	}
	if op.validate != nil {
		if err := op.validate(out); err != nil {
			// A patch that yields an invalid resource is unprocessable,
			// whatever kind of rule it breaks.
			var fe *fhir.Error
			if errors.As(err, &fe) {
				return nil, &fhir.Error{Status: 422, Issues: fe.Issues}
			}
			return nil, err
		}
	}
	if op.rules != nil {
		if err := op.rules(out); err != nil {
			return nil, err
		}
	}
	return obj, nil
}
