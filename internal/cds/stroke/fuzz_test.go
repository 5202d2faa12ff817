package stroke

import "testing"

// FuzzParseQuestionnaireResponse: any JSON is read without a panic, and
// whatever is read scores within ROSIER's range or is refused.
func FuzzParseQuestionnaireResponse(f *testing.F) {
	f.Add(string(qr(`{"linkId":"rosier-speech","answer":[{"valueBoolean":true}]},{"linkId":"capillary-glucose","answer":[{"valueDecimal":5.0}]}`)))
	f.Add(string(qr(`{"linkId":"g","item":[{"linkId":"onset","answer":[{"valueDateTime":"2025-03-04T08:15:00+01:00"}]}]}`)))
	f.Fuzz(func(t *testing.T, body string) {
		r, err := ParseQuestionnaireResponse([]byte(body))
		if err != nil {
			return
		}
		if s, err := ROSIER(r.Answers); err == nil && (s < -2 || s > 5) {
			t.Fatalf("ROSIER %d", s)
		}
	})
}
