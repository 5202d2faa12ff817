package feed_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/nhs-junction/junction/internal/config"
	"github.com/nhs-junction/junction/internal/feed"
	"github.com/nhs-junction/junction/internal/identity/nhsnumber"
)

// benchPair is one patient's admission and results, NHS ITK v2.4 shaped
// (as the hl7 scenario of junction bench sends).
func benchPair(c, i int) [][]byte {
	nhs := nhsnumber.FromSerial((c*1_000_000 + i) % nhsnumber.Serials)
	id := fmt.Sprintf("b%d-%d", c, i)
	adt := fmt.Sprintf("MSH|^~\\&|PAS|RBENCH|JUNCTION|JUNCTION|20250301090000||ADT^A01^ADT_A01|A%s|P|2.4\r"+
		"EVN|A01|20250301085900\r"+
		"PID|1||M%s^^^RBENCH^MR~%s^^^NHS^NH||SMITH^Jane^^^Mrs^^L||19700101|F|||1 High Street^^Leeds^^LS1 1AA^GBR^H\r"+
		"PV1|1|I|WARD 1^Bay 1^Bed 1^RBENCH|||||||GEN|||||||||V%s^^^RBENCH^VN|||||||||||||||||||||||||20250301085500\r", id, id, nhs, id)
	oru := fmt.Sprintf("MSH|^~\\&|LAB|RBENCH|JUNCTION|JUNCTION|20250301100000||ORU^R01^ORU_R01|O%s|P|2.4\r"+
		"PID|1||M%s^^^RBENCH^MR~%s^^^NHS^NH||SMITH^Jane||19700101|F\r"+
		"OBR|1|P%s|F%s|UE^Urea and electrolytes^WinPath|||20250301093000||||||||||||||||||F\r"+
		"OBX|1|NM|NA^Sodium^WinPath||139|mmol/L|133-146|N|||F\r"+
		"OBX|2|NM|K^Potassium^WinPath||4.1|mmol/L|3.5-5.3|N|||F\r"+
		"OBX|3|NM|UREA^Urea^WinPath||5.2|mmol/L|2.5-7.8|N|||F\r"+
		"OBX|4|NM|CREA^Creatinine^WinPath||78|umol/L|49-92|N|||F\r"+
		"OBX|5|NM|EGFR^eGFR^WinPath||90|mL/min/1.73m2|>60||||F\r", id, id, nhs, id, id)
	return [][]byte{[]byte(adt), []byte(oru)}
}

// BenchmarkProcess applies admissions and results from 8 concurrent
// senders, each waiting for its outcome, on embedded SQLite: the path an
// MLLP message takes minus the socket.
func BenchmarkProcess(b *testing.B) {
	e := newEnv(b, "sqlite", config.Config{Data: b.TempDir()}, nil)
	const senders = 8
	var next atomic.Int64
	var wg sync.WaitGroup
	ctx := context.Background()
	b.ResetTimer()
	for c := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1))
				if i > (b.N+1)/2 {
					return
				}
				for _, msg := range benchPair(c, i) {
					if out := e.feed.Process(ctx, msg, "bench"); out.Status != feed.StatusApplied {
						b.Errorf("%s: %v", out.Status, out.Err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}
