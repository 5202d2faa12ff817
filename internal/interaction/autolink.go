package interaction

import (
	"context"
	"encoding/json"

	"github.com/nhs-junction/junction/internal/identity/nhsnumber"
)

// autoLink links a Patient being written to the other Patients that carry
// the same valid NHS number: the certain match of issue-free identity
// (the same person registered at a GP practice, a trust and a specialist
// centre). The link (type seealso, R4 Patient.link) is added to the
// resource being written, so it is visible wherever the record is read,
// and $ihe-pix follows it. Numbers whose verification status says the
// trace failed or is disputed (04, 05) do not link.
func (s *Service) autoLink(ctx context.Context, op *writeOp) error {
	if !s.opts.AutoLink || op.typ != "Patient" || op.obj == nil || s.opts.Search.Engine == nil {
		return nil
	}
	var p struct {
		Identifier []struct {
			System, Value string
			Extension     []struct {
				URL                  string
				ValueCodeableConcept struct{ Coding []struct{ Code string } }
			}
		}
		Link []struct{ Other struct{ Reference string } }
	}
	raw, _ := op.obj.Get("identifier")
	_ = json.Unmarshal([]byte(`{"identifier":`+string(orNull(raw))+`}`), &p)
	linkRaw, _ := op.obj.Get("link")
	if linkRaw != nil {
		_ = json.Unmarshal([]byte(`{"link":`+string(linkRaw)+`}`), &p)
	}
	linked := map[string]bool{"Patient/" + op.id: true}
	for _, l := range p.Link {
		linked[l.Other.Reference] = true
	}
	var add []json.RawMessage
	for _, id := range p.Identifier {
		if id.System != nhsnumber.System || !nhsnumber.Valid(id.Value) || unresolvedTrace(id.Extension) {
			continue
		}
		ms, err := s.matches(ctx, nil, "Patient", "identifier="+nhsnumber.System+"|"+id.Value, op.req.BaseURL, 50)
		if err != nil {
			return err
		}
		for _, m := range ms {
			ref := "Patient/" + m.ID
			if linked[ref] {
				continue
			}
			linked[ref] = true
			b, _ := json.Marshal(map[string]any{"other": map[string]string{"reference": ref}, "type": "seealso"})
			add = append(add, b)
		}
	}
	if len(add) == 0 {
		return nil
	}
	var links []json.RawMessage
	if linkRaw != nil {
		_ = json.Unmarshal(linkRaw, &links)
	}
	b, _ := json.Marshal(append(links, add...))
	op.obj.Set("link", b)
	return nil
}

func orNull(b []byte) []byte {
	if b == nil {
		return []byte("null")
	}
	return b
}

// unresolvedTrace reports a UK Core verification status of 04 or 05.
func unresolvedTrace(exts []struct {
	URL                  string
	ValueCodeableConcept struct{ Coding []struct{ Code string } }
}) bool {
	for _, e := range exts {
		for _, c := range e.ValueCodeableConcept.Coding {
			if c.Code == "04" || c.Code == "05" {
				return true
			}
		}
	}
	return false
}
