package fhirpath

import (
	"fmt"
	"strings"
	"testing"
)

// TestMemoize checks which subexpressions are evaluated once per
// evaluation: those inside a lambda argument that read only literals and
// environment variables.
func TestMemoize(t *testing.T) {
	for _, tc := range []struct {
		expr  string
		memos int
	}{
		{"contained.where(('#' + id) in %resource.descendants().reference)", 1},
		{"contained.where(descendants().as(canonical) = '#')", 0},
		{"contained.where(id = %resource.id.substring(1))", 1},
		{"%resource.descendants().reference", 0},
		{"name.where(given = %resource.name.first().given)", 1},
		{"name.where(given.where($this = 'x').exists())", 0},
		{"name.where(given = family)", 0},
		{"name.select(%resource.contained.where(id = 'a').id)", 1},
	} {
		e := MustCompile(tc.expr)
		if got := countMemos(e.root); got != tc.memos {
			t.Errorf("%s: %d memo nodes, want %d", tc.expr, got, tc.memos)
		}
	}
}

func countMemos(n node) int {
	switch n := n.(type) {
	case *memoNode:
		return 1 + countMemos(n.x)
	case *memberNode:
		if n.x != nil {
			return countMemos(n.x)
		}
	case *unaryNode:
		return countMemos(n.x)
	case *typeOpNode:
		return countMemos(n.x)
	case *indexNode:
		return countMemos(n.x) + countMemos(n.idx)
	case *binaryNode:
		return countMemos(n.l) + countMemos(n.r)
	case *callNode:
		k := 0
		if n.x != nil {
			k = countMemos(n.x)
		}
		for _, a := range n.args {
			k += countMemos(a)
		}
		return k
	}
	return 0
}

// TestMemoizedResults checks that memoized subexpressions give the same
// answers as evaluating them each time, on a resource large enough for
// the string index of `in` and the linear union.
func TestMemoizedResults(t *testing.T) {
	var contained, refs []string
	for i := range 50 {
		contained = append(contained, fmt.Sprintf(`{"resourceType":"Organization","id":"o%d"}`, i))
		if i%2 == 0 {
			refs = append(refs, fmt.Sprintf(`{"item":{"reference":"#o%d"}}`, i))
		}
	}
	res := decode(t, `{"resourceType":"List","status":"current","mode":"working","contained":[`+strings.Join(contained, ",")+`],"entry":[`+strings.Join(refs, ",")+`]}`)
	dom3 := "contained.where((('#'+id in (%resource.descendants().reference | %resource.descendants().as(canonical) | %resource.descendants().as(uri) | %resource.descendants().as(url))) or descendants().where(reference = '#').exists() or descendants().where(as(canonical) = '#').exists() or descendants().where(as(canonical) = '#').exists()).not()).count()"
	runCases(t, res, nil, []evalCase{
		{dom3, "System.Integer:25"},
		{"contained.where(('#' + id) in %resource.entry.item.reference).count()", "System.Integer:25"},
		{"contained.where(('#' + id) in %resource.entry.item.reference).first().id", "id:o0"},
		{"(entry.item.reference | entry.item.reference).count()", "System.Integer:25"},
		{"contained.select(%resource.entry.count()).distinct()", "System.Integer:25"},
	})
}
