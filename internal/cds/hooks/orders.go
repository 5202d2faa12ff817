package hooks

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// The duplicate-order services' ids.
const (
	DuplicateSignServiceID   = "junction-duplicate-order-sign"
	DuplicateSelectServiceID = "junction-duplicate-order-select"
)

// duplicatePrefetch reads the patient's active medication and service
// requests, as the caller: an order the caller may not see is not
// compared (and so never disclosed through a card).
var duplicatePrefetch = map[string]string{
	"activeMedicationRequests": "MedicationRequest?subject=Patient/{{context.patientId}}&status=active&_count=200",
	"activeServiceRequests":    "ServiceRequest?subject=Patient/{{context.patientId}}&status=active&_count=200",
}

// Duplicate prescribing is a recognised cause of medication harm (NICE
// NG5, Medicines optimisation, 1.2 and 1.3: medicines-related patient
// safety incidents and medicines reconciliation); repeating a test
// before its minimum retesting interval wastes it and delays care
// (Royal College of Pathologists, National minimum retesting intervals
// in pathology, 2021).
var (
	medicationDuplicateSource = Source{Label: "Duplicate order check: NICE NG5 Medicines optimisation, by Junction",
		URL: "https://www.nice.org.uk/guidance/ng5"}
	serviceDuplicateSource = Source{Label: "Duplicate order check: RCPath National minimum retesting intervals in pathology (2021), by Junction",
		URL: "https://www.rcpath.org/profession/guidelines/minimum-retesting-intervals-in-pathology.html"}
)

func duplicateServices() []Service {
	return []Service{
		{
			Definition: Definition{Hook: HookOrderSign, ID: DuplicateSignServiceID, Title: "Duplicate order check (order-sign)",
				Description: "Warns when a MedicationRequest or ServiceRequest about to be signed has the same code as an active one for the patient, with a suggestion to remove the new order.",
				Prefetch:    duplicatePrefetch},
			Cards: duplicateCards,
		},
		{
			Definition: Definition{Hook: HookOrderSelect, ID: DuplicateSelectServiceID, Title: "Duplicate order check (order-select)",
				Description: "Warns when a newly selected MedicationRequest or ServiceRequest has the same code as an active one for the patient, with a suggestion to remove the new order.",
				Prefetch:    duplicatePrefetch},
			Cards: duplicateCards,
		},
	}
}

// order is the part of a MedicationRequest or ServiceRequest compared.
type order struct {
	ResourceType              string
	ID                        string
	Status                    string
	AuthoredOn                string
	MedicationCodeableConcept *codeable
	MedicationReference       *struct{ Reference string }
	Code                      *codeable
}

type codeable struct {
	Coding []struct{ System, Code, Display string }
	Text   string
}

// keys are the order's comparable codes: "system|code" of each coding,
// or "ref:..." for a medication given by reference.
func (o order) keys() []string {
	var out []string
	c := o.Code
	if o.ResourceType == "MedicationRequest" {
		c = o.MedicationCodeableConcept
		if o.MedicationReference != nil && o.MedicationReference.Reference != "" {
			out = append(out, "ref:"+o.MedicationReference.Reference)
		}
	}
	if c != nil {
		for _, cd := range c.Coding {
			if cd.System != "" && cd.Code != "" {
				out = append(out, cd.System+"|"+cd.Code)
			}
		}
	}
	return out
}

func (o order) display() string {
	c := o.Code
	if o.ResourceType == "MedicationRequest" {
		c = o.MedicationCodeableConcept
	}
	if c != nil {
		if c.Text != "" {
			return c.Text
		}
		for _, cd := range c.Coding {
			if cd.Display != "" {
				return cd.Display
			}
		}
		if len(c.Coding) > 0 {
			return c.Coding[0].Code
		}
	}
	if o.MedicationReference != nil {
		return o.MedicationReference.Reference
	}
	return "the order"
}

// duplicateCards compares each draft order (on order-select, only the
// selected ones: CDS Hooks order-select §Context, selections) with the
// patient's active orders of the same type and makes one warning card
// per draft that duplicates one or more of them. A draft order without
// a code cannot be compared, and says so.
func duplicateCards(_ context.Context, d Data) ([]Card, error) {
	active := map[string][]order{}
	for _, key := range []string{"activeMedicationRequests", "activeServiceRequests"} {
		for _, raw := range entries(d.Prefetch[key]) {
			var o order
			if json.Unmarshal(raw, &o) == nil && o.Status == "active" {
				active[o.ResourceType] = append(active[o.ResourceType], o)
			}
		}
	}
	drafts := d.DraftOrders
	if d.Hook == HookOrderSelect {
		drafts = nil
		for _, s := range d.Selections {
			drafts = append(drafts, findOrder(d.DraftOrders, s))
		}
	}
	var cards []Card
	for _, raw := range drafts {
		var o order
		if json.Unmarshal(raw, &o) != nil || (o.ResourceType != "MedicationRequest" && o.ResourceType != "ServiceRequest") {
			continue
		}
		src := medicationDuplicateSource
		if o.ResourceType == "ServiceRequest" {
			src = serviceDuplicateSource
		}
		keys := o.keys()
		if len(keys) == 0 {
			cards = append(cards, Card{Summary: clipSummary("Duplicate check not possible: " + o.display() + " has no coded " + what(o)),
				Indicator: "info", Source: src,
				Detail: "Only coded orders are compared with the patient's active orders. Check the active orders yourself before signing."})
			continue
		}
		var dups []order
		for _, a := range active[o.ResourceType] {
			if a.ID == o.ID {
				continue // the draft itself, already stored
			}
			if overlaps(keys, a.keys()) {
				dups = append(dups, a)
			}
		}
		if len(dups) == 0 {
			continue
		}
		sort.Slice(dups, func(i, j int) bool { return dups[i].AuthoredOn > dups[j].AuthoredOn })
		var detail strings.Builder
		fmt.Fprintf(&detail, "The patient already has %d active %s with the same code:\n\n", len(dups), plural(o.ResourceType, len(dups)))
		var links []Link
		for _, a := range dups {
			when := a.AuthoredOn
			if when == "" {
				when = "date not recorded"
			}
			fmt.Fprintf(&detail, "- %s/%s: %s (authored %s)\n", a.ResourceType, a.ID, a.display(), when)
			if d.FHIRBase != "" && len(links) < 3 {
				links = append(links, Link{Label: "Open the active " + a.ResourceType + " " + a.ID, URL: d.FHIRBase + "/" + a.ResourceType + "/" + a.ID, Type: "absolute"})
			}
		}
		detail.WriteString("\nIf both are intended (for example a deliberate change of dose), override this warning and say why.")
		links = append(links, Link{Label: src.Label[strings.Index(src.Label, ":")+2:], URL: src.URL, Type: "absolute"})
		card := Card{
			Summary:   clipSummary(fmt.Sprintf("Possible duplicate: %s is already active", o.display())),
			Detail:    detail.String(),
			Indicator: "warning",
			Source:    src,
			Links:     links,
			OverrideReasons: []Coding{
				{System: overrideSystem, Code: "intended-duplicate", Display: "Both orders are intended"},
				{System: overrideSystem, Code: "active-order-stopping", Display: "The active order is being stopped"},
			},
		}
		if o.ID != "" {
			card.Suggestions = []Suggestion{{Label: "Remove the new order of " + o.display(), IsRecommended: true,
				Actions: []Action{{Type: "delete", Description: "Remove the draft " + o.ResourceType + " " + o.display(), ResourceID: o.ResourceType + "/" + o.ID}}}}
			card.SelectionBehavior = "at-most-one"
		}
		cards = append(cards, card)
	}
	return cards, nil
}

// overrideSystem codes the override reasons Junction's cards offer.
const overrideSystem = "https://github.com/nhs-junction/junction/fhir/CodeSystem/cds-override-reason"

func overlaps(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}

func what(o order) string {
	if o.ResourceType == "MedicationRequest" {
		return "medication"
	}
	return "service"
}

func plural(typ string, n int) string {
	s := map[string]string{"MedicationRequest": "medication request", "ServiceRequest": "service request"}[typ]
	if n != 1 {
		s += "s"
	}
	return s
}
