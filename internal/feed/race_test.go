package feed_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/nhs-junction/junction/internal/access"
	"github.com/nhs-junction/junction/internal/feed"
	"github.com/nhs-junction/junction/internal/identity/nhsnumber"
	"github.com/nhs-junction/junction/internal/interaction"
)

// patientIDsWith returns the ids of the current patients carrying
// identifier token (system|value).
func patientIDsWith(t *testing.T, e *env, token string) []string {
	t.Helper()
	var b struct {
		Entry []struct {
			Resource struct{ ID string } `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(e.searchIDs(t, "Patient", "identifier="+token), &b); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, en := range b.Entry {
		ids = append(ids, en.Resource.ID)
	}
	return ids
}

// TestNewPatientRace sends, at once, two registrations of one new patient
// that name it differently (NHS number and MRN; MRN only): the patient is
// created once, not twice, whichever commits first, on every backend.
func TestNewPatientRace(t *testing.T) {
	for _, e := range backends(t, nil) {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			for i := range 12 {
				nhs := nhsnumber.FromSerial(4242 + i)
				mrn := fmt.Sprintf("RACE%d", i)
				both := fmt.Sprintf("MSH|^~\\&|PAS|RX1|JUNCTION|JUNCTION|20250301090000||ADT^A28^ADT_A05|R%dA|P|2.4\r"+
					"PID|1||%s^^^RX1^MR~%s^^^NHS^NH||JONES^Megan||19840214|F\r", i, mrn, nhs)
				local := fmt.Sprintf("MSH|^~\\&|PAS|RX1|JUNCTION|JUNCTION|20250301090000||ADT^A28^ADT_A05|R%dB|P|2.4\r"+
					"PID|1||%s^^^RX1^MR||JONES^Megan^Ann||19840214|F\r", i, mrn)
				var wg sync.WaitGroup
				outs := make([]feed.Outcome, 2)
				for j, msg := range []string{both, local} {
					wg.Add(1)
					go func() { defer wg.Done(); outs[j] = e.feed.Process(ctx, []byte(msg), "t") }()
				}
				wg.Wait()
				for j, o := range outs {
					if o.Status != feed.StatusApplied {
						t.Fatalf("round %d message %d: %s %v", i, j, o.Status, o.Err)
					}
				}
				if ids := patientIDsWith(t, e, "urn:junction:hl7v2:rx1:rx1|"+mrn); len(ids) != 1 {
					t.Fatalf("round %d: %d patients carry MRN %s, want 1: %v", i, len(ids), mrn, ids)
				}
			}
		})
	}
}

// TestDerivedIDTaken: an admission for a visit whose encounter can no
// longer be found by its visit number (a FHIR client changed it) does not
// overwrite that encounter, although its derived id is the one the new
// encounter would get: the new encounter gets another id.
func TestDerivedIDTaken(t *testing.T) {
	e := newEnvSQLite(t)
	ctx := context.Background()
	if out := e.feed.Process(ctx, fixture(t, "02-a01-admit.hl7"), "t"); out.Status != feed.StatusApplied {
		t.Fatalf("admit: %s %v", out.Status, out.Err)
	}
	var first string
	for _, r := range list(t, e, feed.Query{ControlID: "PAS0002"})[0].Refs {
		if len(r) > 10 && r[:10] == "Encounter/" {
			first = r[10:]
		}
	}
	if first == "" {
		t.Fatal("no encounter written")
	}
	body := e.read(t, "Encounter", first)
	changed := bytes.Replace(body, []byte(`"value":"V0001"`), []byte(`"value":"V0001-RENUMBERED"`), 1)
	if bytes.Equal(changed, body) {
		t.Fatalf("visit number not found in %s", body)
	}
	dev := &access.Caller{Kind: access.Development}
	if _, err := e.svc.Do(ctx, &interaction.Request{Kind: interaction.Update, Method: "PUT", Type: "Encounter", ID: first, Body: changed,
		ContentType: "application/fhir+json", Caller: dev}); err != nil {
		t.Fatal(err)
	}
	again := bytes.Replace(fixture(t, "02-a01-admit.hl7"), []byte("|PAS0002|"), []byte("|PAS0002B|"), 1)
	if out := e.feed.Process(ctx, again, "t"); out.Status != feed.StatusApplied {
		t.Fatalf("second admit: %s %v", out.Status, out.Err)
	}
	if !bytes.Contains(e.read(t, "Encounter", first), []byte("V0001-RENUMBERED")) {
		t.Error("the renumbered encounter was overwritten")
	}
	if v := versions(t, e, "Encounter"); v != 3 {
		t.Errorf("%d Encounter versions, want 3 (admit, renumber, a new encounter)", v)
	}
}
