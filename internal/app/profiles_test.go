package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nhs-junction/junction/internal/config"
	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/interaction"
	"github.com/nhs-junction/junction/internal/testenv"
)

// TestProfilesOnWrite loads the UK Core Patient profile and checks that a
// Patient claiming it is validated against it on write, in base and in
// strict mode.
func TestProfilesOnWrite(t *testing.T) {
	dir := testenv.SharedData(t, "uk-core")
	sd := filepath.Join(dir, "structuredefinitions", "UKCore-Patient.json")
	if _, err := os.Stat(sd); err != nil {
		testenv.Unavailable(t, "%v", err)
	}
	ctx := context.Background()
	cfg := config.Defaults()
	cfg.Data = t.TempDir()
	var out bytes.Buffer
	stats, err := LoadProfiles(ctx, cfg, []string{sd}, &out, nil)
	if err != nil || stats.Rejected != 0 || stats.Loaded["StructureDefinition"] != 1 {
		t.Fatalf("load: %v %+v %s", err, stats, out.String())
	}
	// A non-profile is refused by `profiles load`.
	bad := filepath.Join(t.TempDir(), "p.json")
	os.WriteFile(bad, []byte(`{"resourceType":"Patient","id":"x"}`), 0o600)
	if stats, _ := LoadProfiles(ctx, cfg, []string{bad}, &out, nil); stats.Rejected != 1 {
		t.Fatalf("a Patient was accepted as a profile")
	}

	claim := `{"resourceType":"Patient","id":"%s","meta":{"profile":["%s"]},
		"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","use":"official"}],"name":[{"family":"Ng"}]}`
	ukcore := "https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient"
	for _, mode := range []string{"base", "strict"} {
		t.Run(mode, func(t *testing.T) {
			c := cfg
			c.Validation = mode
			st, err := OpenStore(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			svc, err := NewService(ctx, st, c)
			if err != nil {
				t.Fatal(err)
			}
			put := func(id, profile string) error {
				body := fmt.Sprintf(claim, id, profile)
				_, err := svc.Do(ctx, &interaction.Request{Kind: interaction.Update, Type: "Patient", ID: id, Body: []byte(body), Caller: Operator})
				return err
			}
			var fe *fhir.Error
			// The NHS number slice needs a value in UK Core.
			if err := put("a", ukcore); !errors.As(err, &fe) || fe.Status != 422 || !strings.Contains(fe.Error(), "nhsNumber") {
				t.Fatalf("profile violation: %v", err)
			}
			err = put("b", "http://example.org/unknown-profile")
			if mode == "strict" && (!errors.As(err, &fe) || fe.Status != 422) {
				t.Fatalf("strict accepted an unknown profile: %v", err)
			}
			if mode == "base" && err != nil {
				t.Fatalf("base refused an unknown profile: %v", err)
			}
		})
	}
}
