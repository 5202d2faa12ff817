package news2_test

import (
	"fmt"

	"github.com/nhs-junction/junction/internal/cds/news2"
)

func ExampleScore() {
	temp, _ := news2.RoundTenths("38.05") // half-up: 38.1 °C
	r, err := news2.Score(news2.Vitals{
		RespirationRate: 22, SpO2: 95, Scale: news2.Scale1, OnOxygen: false,
		SystolicBP: 105, Pulse: 112, Consciousness: news2.Alert, TemperatureTenths: temp,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Total, r.Risk.Code(), r.Scores)
	// Output: 7 high [2 1 0 1 2 0 1]
}
