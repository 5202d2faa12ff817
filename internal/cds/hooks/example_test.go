package hooks_test

import (
	"fmt"

	"github.com/nhs-junction/junction/internal/cds/hooks"
)

// Each hook has an aggregate service that answers with the cards of
// every built-in service for it and of the external services registered
// for it.
func ExampleAggregateID() {
	for _, h := range hooks.Hooks() {
		fmt.Println(h, "->", "/cds-services/"+hooks.AggregateID(h))
	}
	// Output:
	// encounter-start -> /cds-services/junction-all-encounter-start
	// order-select -> /cds-services/junction-all-order-select
	// order-sign -> /cds-services/junction-all-order-sign
	// patient-view -> /cds-services/junction-all-patient-view
}
