package search

import (
	"strings"
	"testing"

	"github.com/nhs-junction/junction/internal/searchparam"
)

func TestShape(t *testing.T) {
	obs := `{"resourceType":"Observation","id":"o1","meta":{"versionId":"1"},"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"},"status":"final","code":{"text":"BP"},"subject":{"reference":"Patient/1"},"valueQuantity":{"value":1.50},"_status":{"id":"s"}}`
	for _, c := range []struct {
		q          searchparam.Query
		want, lose []string
	}{
		{searchparam.Query{Summary: searchparam.SummaryText}, []string{`"text":{`, `"status"`, `"code"`, `"_status"`, "SUBSETTED"}, []string{`"subject"`, `"valueQuantity"`}},
		{searchparam.Query{Summary: searchparam.SummaryData}, []string{`"subject"`, `"value":1.50`, "SUBSETTED"}, []string{`"text":{`}},
		{searchparam.Query{Elements: []string{"subject", "value[x]"}}, []string{`"subject"`, `"valueQuantity"`, `"status"`, `"code"`, `"versionId":"1"`}, []string{`"text":{`}},
		{searchparam.Query{Elements: []string{"Observation.subject"}}, []string{`"subject"`}, []string{`"valueQuantity"`}},
		{searchparam.Query{}, []string{`"text":{`}, []string{"SUBSETTED"}},
	} {
		b, err := Shape([]byte(obs), &c.q, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range c.want {
			if !strings.Contains(string(b), w) {
				t.Errorf("%+v: %s lacks %s", c.q, b, w)
			}
		}
		for _, l := range c.lose {
			if strings.Contains(string(b), l) {
				t.Errorf("%+v: %s keeps %s", c.q, b, l)
			}
		}
	}
	if _, err := Shape([]byte(obs), &searchparam.Query{Summary: searchparam.SummaryTrue}, nil); err == nil {
		t.Error("_summary=true without isSummary")
	}
	b, _ := Shape([]byte(obs), &searchparam.Query{Summary: searchparam.SummaryTrue}, func(typ, el string) bool { return el == "code" })
	if !strings.Contains(string(b), `"code"`) || strings.Contains(string(b), `"subject"`) {
		t.Errorf("_summary=true: %s", b)
	}
}
