package audit

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Summary is what a patient's access log shows of one AuditEvent: who,
// from which organisation and app, when, what they did and saw, why, and
// whether it was an emergency (break-glass) access.
type Summary struct {
	When        string   // AuditEvent.recorded
	Interaction string   // the subtype code: read, search-type, ... or the operation
	Action      string   // C, R, U, D or E
	Who         string   // the user's name (or identifier, or reference)
	WhoRef      string   // the user's Practitioner or Patient reference, if any
	UserKind    string   // "patient" for a patient acting for themselves, else ""
	Roles       []string // the user's job role codes
	Org         string   // ODS code of the user's organisation
	OrgName     string
	Client      string   // the OAuth client
	What        []string // references of what was read or written (patients left out)
	Query       string   // the search or operation, as the server understood it
	Purpose     []string // purpose of use codes (v3-ActReason)
	BreakGlass  bool
	Reason      string // the break-glass reason
	Outcome     Outcome
	OutcomeDesc string
	Patients    []string // ids of the patients the event names
}

// Summarize reads the Summary of an AuditEvent's JSON as Event wrote it.
func Summarize(body []byte) (Summary, error) {
	var ev auditEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		return Summary{}, fmt.Errorf("audit: not an AuditEvent: %w", err)
	}
	if ev.ResourceType != "AuditEvent" {
		return Summary{}, fmt.Errorf("audit: a %s is not an AuditEvent", ev.ResourceType)
	}
	s := Summary{When: ev.Recorded, Action: ev.Action, Outcome: Outcome(ev.Outcome), OutcomeDesc: ev.OutcomeDesc}
	if len(ev.Subtype) > 0 {
		s.Interaction = ev.Subtype[0].Code
		if s.Interaction == "" {
			s.Interaction = ev.Subtype[0].Display
		}
	}
	for _, p := range ev.PurposeOfEvent {
		for _, c := range p.Coding {
			s.Purpose = append(s.Purpose, c.Code)
			if c.Code == "BTG" {
				s.BreakGlass, s.Reason = true, p.Text
			}
		}
	}
	for _, a := range ev.Agent {
		switch {
		case a.Requestor && a.Who != nil:
			s.Who = a.Name
			if s.Who == "" {
				s.Who = a.Who.Display
			}
			if s.Who == "" && a.Who.Identifier != nil {
				s.Who = a.Who.Identifier.Value
			}
			s.WhoRef = a.Who.Reference
			if s.Who == "" {
				s.Who = s.WhoRef
			}
			for _, r := range a.Role {
				for _, c := range r.Coding {
					if c.System == sysRoleClass && c.Code == "PAT" {
						s.UserKind = "patient"
						continue
					}
					s.Roles = append(s.Roles, c.Code)
				}
			}
		case hasCoding(a.Type, codeProvider) && a.Who != nil && a.Who.Identifier != nil:
			s.Org, s.OrgName = a.Who.Identifier.Value, a.Who.Display
		case (hasCoding(a.Type, codeSource) || hasCoding(a.Type, codeDestination) || hasCoding(a.Type, codeApplication)) &&
			a.Who != nil && a.Who.Identifier != nil && a.Who.Identifier.System == "":
			// The client app (the server agent carries the ODS system).
			s.Client = a.Who.Identifier.Value
		}
	}
	for _, e := range ev.Entity {
		switch {
		case e.Role != nil && e.Role.System == sysObjectRole && e.Role.Code == "24":
			s.Query = e.Description
		case e.What != nil && strings.HasPrefix(e.What.Reference, "Patient/") && e.Role != nil && e.Role.Code == "1":
			s.Patients = append(s.Patients, strings.TrimPrefix(e.What.Reference, "Patient/"))
		case e.What != nil && e.What.Reference != "":
			s.What = append(s.What, e.What.Reference)
		}
	}
	return s, nil
}

func hasCoding(c *concept, want coding) bool {
	if c == nil {
		return false
	}
	for _, x := range c.Coding {
		if x.System == want.System && x.Code == want.Code {
			return true
		}
	}
	return false
}

// OutcomeText names an outcome for people: "success", "refused or
// failed (client)", "failed (server)" or "failed (major)".
func OutcomeText(o Outcome) string {
	switch o {
	case Success, "":
		return "success"
	case MinorFailure:
		return "refused or failed"
	case SeriousFailure:
		return "failed (server error)"
	}
	return "failed (server unavailable)"
}
