package access_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nhs-junction/junction/internal/access"
	"github.com/nhs-junction/junction/internal/fhir"
)

func TestDecide(t *testing.T) {
	dec := decider()
	gp := &access.Caller{Kind: access.Practitioner, Organization: "A1", Roles: []string{"R8000"}, Scopes: []string{"user/*.cruds"}}
	clerk := &access.Caller{Kind: access.Practitioner, Organization: "A1", Roles: []string{"R8008"}, Scopes: []string{"user/*.cruds"}}
	nurseRead := &access.Caller{Kind: access.Practitioner, Organization: "A1", Roles: []string{"R0620"}, Scopes: []string{"user/*.rs"}}
	po := &access.Caller{Kind: access.PrivacyOfficer, Organization: "A1", Roles: []string{"R0001"}, Scopes: []string{"user/*.rs"}}
	admin := &access.Caller{Kind: access.Admin, Scopes: []string{"user/*.cruds"}}
	pat := &access.Caller{Kind: access.PatientUser, Patients: []string{"p1", "child"}, Scopes: []string{"patient/*.rs"}}
	sys := &access.Caller{Kind: access.System, Scopes: []string{"system/Encounter.cud", "system/Patient.rs"}}
	with := func(c *access.Caller, fn func(*access.Caller)) *access.Caller {
		cp := *c
		fn(&cp)
		return &cp
	}
	grant := &access.BreakGlass{Reason: "collapsed", Patient: "p9", Until: now.Add(2 * time.Hour)}
	const ok = 0
	cases := []struct {
		name   string
		c      *access.Caller
		a      access.Action
		status int
		msg    string
	}{
		{"no caller", nil, access.Action{Interaction: access.Read, Type: "Patient", ID: "p1"}, 401, "authentication"},
		{"development", &access.Caller{Kind: access.Development}, access.Action{Interaction: access.Delete, Type: "AuditEvent"}, ok, ""},
		{"GP reads", gp, access.Action{Interaction: access.Read, Type: "Observation", ID: "o"}, ok, ""},
		{"GP vreads", gp, access.Action{Interaction: access.VRead, Type: "Observation", ID: "o"}, ok, ""},
		{"GP writes", gp, access.Action{Interaction: access.Create, Type: "Observation"}, ok, ""},
		{"GP patches", gp, access.Action{Interaction: access.Patch, Type: "Condition", ID: "c"}, ok, ""},
		{"GP deletes", gp, access.Action{Interaction: access.Delete, Type: "Condition", ID: "c"}, ok, ""},
		{"GP system history", gp, access.Action{Interaction: access.HistorySystem}, ok, ""},
		{"GP $everything", gp, access.Action{Interaction: access.Operation, Operation: "$everything", Type: "Patient", ID: "p1", Patient: "p1"}, ok, ""},
		{"GP cannot amend demographics", gp, access.Action{Interaction: access.Update, Type: "Patient", ID: "p1"}, 403, "amend-demographics (B0825)"},
		{"GP cannot $merge", gp, access.Action{Interaction: access.Operation, Operation: "$merge", Type: "Patient"}, 403, "amend-demographics"},
		{"GP cannot write Organization", gp, access.Action{Interaction: access.Create, Type: "Organization"}, 403, "administer"},
		{"GP cannot read audit", gp, access.Action{Interaction: access.Search, Type: "AuditEvent"}, 403, "read-audit"},
		{"nobody writes audit", admin, access.Action{Interaction: access.Create, Type: "AuditEvent"}, 403, "written by the server"},
		{"unknown operation", gp, access.Action{Interaction: access.Operation, Operation: "$export"}, 403, "not covered"},
		{"clerk reads demographics", clerk, access.Action{Interaction: access.Search, Type: "Patient"}, ok, ""},
		{"clerk amends demographics", clerk, access.Action{Interaction: access.Update, Type: "Patient", ID: "p1"}, ok, ""},
		{"clerk $merge", clerk, access.Action{Interaction: access.Operation, Operation: "$merge", Type: "Patient"}, ok, ""},
		{"clerk cannot read clinical", clerk, access.Action{Interaction: access.Read, Type: "Observation", ID: "o"}, 403, "read-clinical (B0360)"},
		{"read-only scopes cannot write", nurseRead, access.Action{Interaction: access.Create, Type: "Observation"}, 403, "grants no scope to create Observation"},
		{"history-type needs s", &access.Caller{Kind: access.Practitioner, Roles: []string{"R8000"}, Scopes: []string{"user/Observation.r"}}, access.Action{Interaction: access.HistoryType, Type: "Observation"}, 403, "no scope"},
		{"history-instance needs r", &access.Caller{Kind: access.Practitioner, Roles: []string{"R8000"}, Scopes: []string{"user/Observation.s"}}, access.Action{Interaction: access.HistoryInstance, Type: "Observation", ID: "o"}, 403, "no scope"},
		{"no scopes at all", with(gp, func(c *access.Caller) { c.Scopes = nil }), access.Action{Interaction: access.HistorySystem}, 403, "no scope"},
		{"unenforceable scope", with(gp, func(c *access.Caller) { c.Scopes = []string{"user/Observation.rs?code:in=x"} }), access.Action{Interaction: access.Read, Type: "Observation"}, 403, "cannot be enforced"},
		{"privacy officer reads audit", po, access.Action{Interaction: access.Search, Type: "AuditEvent"}, ok, ""},
		{"privacy officer cannot read clinical", po, access.Action{Interaction: access.Search, Type: "Observation"}, 403, "read-clinical"},
		{"admin writes directory", admin, access.Action{Interaction: access.Update, Type: "Organization", ID: "x"}, ok, ""},
		{"admin cannot read clinical", admin, access.Action{Interaction: access.Read, Type: "Observation", ID: "o"}, 403, "read-clinical"},
		{"patient reads own", pat, access.Action{Interaction: access.Read, Type: "Observation", ID: "o", Patient: "p1"}, ok, ""},
		{"patient reads child's", pat, access.Action{Interaction: access.Read, Type: "Observation", ID: "o", Patient: "child"}, ok, ""},
		{"patient reads another's", pat, access.Action{Interaction: access.Read, Type: "Observation", ID: "o", Patient: "p2"}, 404, "not known"},
		{"patient reads a non-directory type", pat, access.Action{Interaction: access.Read, Type: "Subscription", ID: "s"}, 404, ""},
		{"patient reads a practitioner", pat, access.Action{Interaction: access.Read, Type: "Practitioner", ID: "d"}, ok, ""},
		{"patient cannot write without scope", pat, access.Action{Interaction: access.Create, Type: "Observation", Patient: "p1"}, 403, "no scope"},
		{"patient without linked patients", &access.Caller{Kind: access.PatientUser, Scopes: []string{"patient/*.rs"}}, access.Action{Interaction: access.Search, Type: "Observation"}, 403, "no patient"},
		{"system writes encounters", sys, access.Action{Interaction: access.Create, Type: "Encounter"}, ok, ""},
		{"system cannot read encounters", sys, access.Action{Interaction: access.Read, Type: "Encounter"}, 403, "system/Encounter.r"},
		{"unknown purpose", with(gp, func(c *access.Caller) { c.Purpose = "FUN" }), access.Action{Interaction: access.Search, Type: "Observation"}, 403, "purpose of use"},
		{"break-glass", with(gp, func(c *access.Caller) { c.Purpose = "BTG"; c.BreakGlass = grant }), access.Action{Interaction: access.Read, Type: "Observation", Patient: "p9"}, ok, ""},
		{"break-glass not open to role", with(clerk, func(c *access.Caller) { c.Purpose = "BTG"; c.BreakGlass = grant }), access.Action{Interaction: access.Read, Type: "Patient", Patient: "p9"}, 403, "not open to your role"},
		{"break-glass without grant", with(gp, func(c *access.Caller) { c.Purpose = "BTG" }), access.Action{Interaction: access.Read, Type: "Observation"}, 403, "needs a grant"},
		{"break-glass without reason", with(gp, func(c *access.Caller) {
			c.Purpose = "BTG"
			c.BreakGlass = &access.BreakGlass{Patient: "p9", Until: now.Add(time.Hour)}
		}), access.Action{Interaction: access.Read, Type: "Observation"}, 403, "reason"},
		{"break-glass expired", with(gp, func(c *access.Caller) {
			c.Purpose = "BTG"
			c.BreakGlass = &access.BreakGlass{Reason: "x", Patient: "p9", Until: now.Add(-time.Second)}
		}), access.Action{Interaction: access.Read, Type: "Observation"}, 403, "expired"},
		{"break-glass too long", with(gp, func(c *access.Caller) {
			c.Purpose = "BTG"
			c.BreakGlass = &access.BreakGlass{Reason: "x", Patient: "p9", Until: now.Add(9 * time.Hour)}
		}), access.Action{Interaction: access.Read, Type: "Observation"}, 403, "at most 4h"},
		{"break-glass for research", with(gp, func(c *access.Caller) { c.Purpose = "HRESCH"; c.BreakGlass = grant }), access.Action{Interaction: access.Read, Type: "Observation"}, 403, "direct care"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := dec.Decide(tc.c, tc.a)
			if tc.status == ok {
				if err != nil {
					t.Fatalf("denied: %v", err)
				}
				if tc.c.Kind != access.Development && d.Filter == nil {
					t.Fatal("allowed without a filter")
				}
				return
			}
			var fe *fhir.Error
			if !errors.As(err, &fe) || fe.Status != tc.status || !strings.Contains(fe.Error(), tc.msg) {
				t.Fatalf("got %v, want %d containing %q", err, tc.status, tc.msg)
			}
		})
	}
}

func TestDecisionFlags(t *testing.T) {
	dec := decider()
	gp := &access.Caller{Kind: access.Practitioner, Organization: "A1", Roles: []string{"R8000"}, Scopes: []string{"user/*.rs"},
		Purpose: "BTG", BreakGlass: &access.BreakGlass{Reason: "collapsed", Patient: "p9", Until: now.Add(time.Hour)}}
	d, err := dec.Decide(gp, access.Action{Interaction: access.Read, Type: "Observation", Patient: "p9"})
	if err != nil || !d.BreakGlass || d.Purpose != "BTG" || !d.RedactRestricted {
		t.Fatalf("break-glass read: %+v %v", d, err)
	}
	if !strings.Contains(d.NoRelationship.Error(), "break-glass is open to your role") {
		t.Errorf("NoRelationship = %v", d.NoRelationship)
	}
	d, _ = dec.Decide(gp, access.Action{Interaction: access.Read, Type: "Observation", Patient: "p1"})
	if d.BreakGlass || d.Purpose != "TREAT" {
		t.Errorf("another patient under a break-glass grant: %+v", d)
	}
	nurse := &access.Caller{Kind: access.Practitioner, Roles: []string{"R8008"}, Scopes: []string{"user/*.rs"}}
	d, _ = dec.Decide(nurse, access.Action{Interaction: access.Read, Type: "Patient"})
	if !strings.Contains(d.NoRelationship.Error(), "not open to your role") {
		t.Errorf("NoRelationship = %v", d.NoRelationship)
	}
	pol := access.DefaultPolicy()
	pol.Roles["R8000"] = access.RolePolicy{Activities: []access.Activity{access.ReadDemographics, access.ReadRestrictedDemographics}}
	d, _ = access.NewDecider(pol).Decide(&access.Caller{Kind: access.Practitioner, Roles: []string{"R8000"}, Scopes: []string{"user/*.rs"}}, access.Action{Interaction: access.Read, Type: "Patient"})
	if d.RedactRestricted {
		t.Error("read-restricted-demographics still redacts")
	}
	sys := &access.Caller{Kind: access.System, Scopes: []string{"system/*.rs"}}
	d, _ = dec.Decide(sys, access.Action{Interaction: access.Search, Type: "Observation"})
	if d.NoRelationship != nil {
		t.Error("the relationship rule binds system clients in the baseline")
	}
}
