package fhirpath

// Subexpressions that do not depend on the item a function iterates over
// are evaluated once per evaluation, not once per item. R4's dom-3 asks,
// for each contained resource, whether '#'+id is in
// (%resource.descendants().reference | ...): evaluated as written, the
// union over the whole resource is rebuilt for every contained resource,
// which made validating a List of 1,000 contained resources (86 kB) take
// 96 s on the machine that measured it. memoize finds such
// subexpressions at compile time and wraps them in a memoNode.

// lambdaArgs names the functions whose arguments are evaluated once per
// input item with $this bound to it (http://hl7.org/fhirpath/N1/#functions),
// and which of their arguments are: -1 for all.
var lambdaArgs = map[string]int{
	"where": -1, "select": -1, "all": -1, "exists": -1, "repeat": -1, "sort": -1,
	"aggregate": 0, "trace": 1,
}

func isLambdaArg(n *callNode, i int) bool {
	a, ok := lambdaArgs[n.name]
	return ok && (a < 0 || a == i)
}

// constant reports whether n gives the same result wherever it is
// evaluated within one evaluation: it reads only literals and
// environment variables, never the focus, $this, $index or $total. A
// lambda argument may read its own $this, which the function binds.
func constant(n node) bool {
	switch n := n.(type) {
	case *literalNode, *varNode:
		return true
	case *memoNode:
		return true
	case *memberNode:
		return n.x != nil && constant(n.x)
	case *unaryNode:
		return constant(n.x)
	case *typeOpNode:
		return constant(n.x)
	case *indexNode:
		return constant(n.x) && constant(n.idx)
	case *binaryNode:
		return constant(n.l) && constant(n.r)
	case *callNode:
		if n.x == nil || !constant(n.x) {
			return false
		}
		if functions[n.name].typeArg {
			return true // the argument is a type name, not evaluated
		}
		for i, a := range n.args {
			if !isLambdaArg(n, i) && !constant(a) {
				return false
			}
		}
		return true
	}
	return false
}

// memoize returns n with every non-trivial constant subexpression that
// lies inside a lambda argument wrapped in a memoNode. Outside lambda
// arguments each subexpression is evaluated once anyway.
func memoize(n node, inLambda bool) node {
	if inLambda && constant(n) {
		switch n.(type) {
		case *literalNode, *varNode, *memoNode:
			return n
		}
		return &memoNode{x: n}
	}
	switch n := n.(type) {
	case *memberNode:
		if n.x != nil {
			n.x = memoize(n.x, inLambda)
		}
	case *unaryNode:
		n.x = memoize(n.x, inLambda)
	case *typeOpNode:
		n.x = memoize(n.x, inLambda)
	case *indexNode:
		n.x, n.idx = memoize(n.x, inLambda), memoize(n.idx, inLambda)
	case *binaryNode:
		n.l, n.r = memoize(n.l, inLambda), memoize(n.r, inLambda)
	case *callNode:
		if n.x != nil {
			n.x = memoize(n.x, inLambda)
		}
		if functions[n.name].typeArg {
			break
		}
		for i, a := range n.args {
			n.args[i] = memoize(a, inLambda || isLambdaArg(n, i))
		}
	}
	return n
}

// memoNode evaluates x once per evaluation and keeps the result.
type memoNode struct{ x node }

func (n *memoNode) eval(c *env, in []Item) ([]Item, error) {
	if r, ok := c.memo[n]; ok {
		return r, nil
	}
	r, err := n.x.eval(c, in)
	if err != nil {
		return nil, err
	}
	if c.memo == nil {
		c.memo = map[*memoNode][]Item{}
	}
	r = r[:len(r):len(r)] // callers may append; they must not write into the kept result
	c.memo[n] = r
	if len(r) >= minIndexed {
		if c.memoized == nil {
			c.memoized = map[*Item]int{}
		}
		c.memoized[&r[0]] = len(r)
	}
	return r, nil
}

// minIndexed is the size from which a kept collection gets a string
// index when `in` or `contains` look a value up in it.
const minIndexed = 32

// stringIndex returns a set of the string values of coll when coll is a
// collection kept by a memoNode whose items are all strings that compare
// as plain strings, building it on first use; otherwise nil.
func (c *env) stringIndex(coll []Item) map[string]bool {
	if len(coll) < minIndexed || c.memoized[&coll[0]] != len(coll) {
		return nil
	}
	if set, ok := c.sets[&coll[0]]; ok {
		return set
	}
	set := make(map[string]bool, len(coll))
	for _, it := range coll {
		s, ok := plainString(it)
		if !ok {
			set = nil
			break
		}
		set[s] = true
	}
	if c.sets == nil {
		c.sets = map[*Item]map[string]bool{}
	}
	c.sets[&coll[0]] = set
	return set
}

// plainString returns the value of an item that equals another string
// item exactly when their texts are equal: a string-like FHIR primitive
// or System.String, not a date or time held as text.
func plainString(it Item) (string, bool) {
	s, ok := it.v.(string)
	if !ok {
		return "", false
	}
	switch it.typ {
	case "", TypeString, "string", "uri", "url", "canonical", "code", "id", "oid", "uuid", "markdown", "base64Binary":
		return s, true
	}
	return "", false
}
