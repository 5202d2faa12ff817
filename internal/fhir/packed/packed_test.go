package packed

import (
	"reflect"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	in := [][]string{{"a", "b\tc", "d\ne"}, {"back`quote", `back\slash`, "cr\r", ""}}
	var data string
	for i, rec := range in {
		if i > 0 {
			data += "\n"
		}
		data += Line(append([]string(nil), rec...)...)
	}
	var out [][]string
	ForLines(data, func(f []string) { out = append(out, f) })
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("got %q, want %q", out, in)
	}
}

func FuzzRoundTrip(f *testing.F) {
	f.Add("a\tb\\c`d\n")
	f.Fuzz(func(t *testing.T, s string) {
		if got := Unescape(Escape(s)); got != s {
			t.Fatalf("Unescape(Escape(%q)) = %q", s, got)
		}
	})
}
