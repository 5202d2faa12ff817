package interaction

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzSplitBundle checks splitBundle against encoding/json: whenever it
// accepts a body, decoding the same body with encoding/json finds the
// same type, fullUrls, requests and resources (compacted, since
// splitBundle keeps the resource's bytes as sent).
func FuzzSplitBundle(f *testing.F) {
	for _, s := range []string{
		`{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","name":[{"family":"O\"Brien"}]},"request":{"method":"POST","url":"Patient"}}]}`,
		` { "resourceType" : "Bundle" , "type":"batch", "entry" : [ null , { "request" : { "method" : "GET" , "url" : "Patient?x=[1]" } } , {"resource": null} ] } `,
		`{"resourceType":"Bundle","type":"batch","entry":null}`,
		`{"resourceType":"Bundle","type":"batch","entry":[1]}`,
		`{"resourceType":"Bundle","entry":[],"type":"batch","id":"\u0062"}`,
		`{"resourceType":"Bundle","resourceType":"Bundle"}`,
		`{"resourceType":"Patient"}`,
		`[]`,
		`{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"a":[{"b":"}]"}],"c":-1.5e3,"d":true},"request":{"method":"PUT","url":"Basic/1","ifMatch":"W/\"1\""}}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		shell, raws, err := splitBundle(body)
		if err != nil {
			return
		}
		// Maps match member names exactly, as FHIR JSON does.
		var top map[string]json.RawMessage
		var entries []map[string]json.RawMessage
		if err := json.Unmarshal(body, &top); err != nil {
			t.Fatalf("splitBundle accepted what encoding/json refuses (%v): %s", err, body)
		}
		if rt, _ := shell.GetString("resourceType"); rt != "Bundle" || !bytes.Equal(compact(top["resourceType"]), []byte(`"Bundle"`)) {
			t.Fatalf("resourceType %s accepted", top["resourceType"])
		}
		if typ, _ := shell.Get("type"); !bytes.Equal(compact(typ), compact(top["type"])) {
			t.Fatalf("type %s, encoding/json %s", typ, top["type"])
		}
		if err := json.Unmarshal(orNull(top["entry"]), &entries); err != nil {
			t.Fatalf("entries accepted that encoding/json refuses (%v): %s", err, body)
		}
		if len(raws) != len(entries) {
			t.Fatalf("%d entries, encoding/json %d", len(raws), len(entries))
		}
		for i, r := range raws {
			var want rawEntry
			if err := json.Unmarshal(orNull(entries[i]["fullUrl"]), &want.FullURL); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(orNull(entries[i]["request"]), &want.Request); err != nil {
				t.Fatal(err)
			}
			want.Resource = entries[i]["resource"]
			if r.FullURL != want.FullURL || !bytes.Equal(compact(r.Resource), compact(want.Resource)) || !reflect.DeepEqual(r.Request, want.Request) {
				t.Fatalf("entry %d: %+v, encoding/json %+v", i, r, want)
			}
		}
	})
}

func compact(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	var out bytes.Buffer
	if json.Compact(&out, b) != nil {
		return b
	}
	return out.Bytes()
}
