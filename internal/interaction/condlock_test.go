package interaction_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nhs-junction/junction/internal/access"
	"github.com/nhs-junction/junction/internal/app"
	"github.com/nhs-junction/junction/internal/fhir/spec"
	"github.com/nhs-junction/junction/internal/interaction"
	"github.com/nhs-junction/junction/internal/searchparam"
	"github.com/nhs-junction/junction/internal/store/sqlite"
)

// TestConditionalLockNarrow checks that a conditional transaction whose
// validation is slow does not hold up another conditional transaction:
// validation runs before the conditional lock is taken, which covers only
// the searches and the commit.
func TestConditionalLockNarrow(t *testing.T) {
	ctx := context.Background()
	lite, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lite.Close() })
	engine, err := app.WithSearch(lite, "")
	if err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	svc := interaction.New(engine, interaction.Options{
		IsResourceType: spec.IsResourceType,
		Search:         interaction.SearchOptions{Engine: engine, Registry: searchparam.R4()},
		Validate: func(raw []byte) error {
			if strings.Contains(string(raw), "slow-validation") {
				close(entered)
				<-release
			}
			return nil
		},
	})
	bundle := func(family string) *interaction.Request {
		body := fmt.Sprintf(`{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:9b6f3a52-0d7e-4a7e-9d51-7a2b0c9e1f01","resource":{"resourceType":"Patient","name":[{"family":%q}]},
			"request":{"method":"POST","url":"Patient","ifNoneExist":"family=%s"}}]}`, family, family)
		return &interaction.Request{Kind: interaction.Transaction, Method: "POST", Body: []byte(body), Caller: &access.Caller{Kind: access.Development}}
	}
	slow := make(chan error, 1)
	go func() {
		_, err := svc.Do(ctx, bundle("slow-validation"))
		slow <- err
	}()
	<-entered
	fast := make(chan error, 1)
	go func() {
		_, err := svc.Do(ctx, bundle("quick"))
		fast <- err
	}()
	select {
	case err := <-fast:
		if err != nil {
			t.Fatalf("the second transaction failed: %v", err)
		}
	case <-time.After(10 * time.Second):
		close(release)
		t.Fatal("a conditional transaction waited for another one's validation")
	}
	close(release)
	if err := <-slow; err != nil {
		t.Fatalf("the slow transaction failed: %v", err)
	}
}
