package terminology

import "testing"

// FuzzAdd checks that registering arbitrary JSON never panics and that
// whatever was registered can be expanded and looked up without panic.
func FuzzAdd(f *testing.F) {
	for _, s := range []string{
		`{"resourceType":"CodeSystem","url":"http://x","content":"complete","concept":[{"code":"a","concept":[{"code":"b","property":[{"code":"child","valueCode":"a"}]}]}]}`,
		`{"resourceType":"ValueSet","url":"http://v","compose":{"include":[{"system":"http://x","filter":[{"property":"concept","op":"is-a","value":"a"}]}],"exclude":[{"valueSet":["http://v"]}]}}`,
		`{"resourceType":"ValueSet","url":"http://v","expansion":{"contains":[{"system":"http://x","code":"a","contains":[{"code":"b"}]}]}}`,
		`{"resourceType":"ValueSet","url":"http://v","compose":{"include":[{"system":"http://x","filter":[{"property":"concept","op":"regex","value":"(("}]}]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := New()
		if r.Add(b) != nil {
			return
		}
		for _, u := range []string{"http://v", "http://x"} {
			_, _ = r.Expand(u, "a", 0, 10)
			_, _ = r.ValidateCode(u, "http://x", "a", "")
			_, _ = r.Lookup(u, "a")
			_, _ = r.Subsumes(u, "a", "b")
			_, _ = r.Descendants(u, "a")
		}
	})
}
