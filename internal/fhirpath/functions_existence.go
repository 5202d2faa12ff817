package fhirpath

// Existence functions, http://hl7.org/fhirpath/N1/#existence.
var existenceFunctions = map[string]fnDef{
	"empty": {0, 0, func(c *env, n *callNode, f []Item) ([]Item, error) {
		return boolItems(len(f) == 0), nil
	}, false},
	"exists": {0, 1, fnExists, false},
	"all":    {1, 1, fnAll, false},
	"allTrue": {0, 0, func(c *env, n *callNode, f []Item) ([]Item, error) {
		return boolAgg(n, f, true, true)
	}, false},
	"anyTrue": {0, 0, func(c *env, n *callNode, f []Item) ([]Item, error) {
		return boolAgg(n, f, false, true)
	}, false},
	"allFalse": {0, 0, func(c *env, n *callNode, f []Item) ([]Item, error) {
		return boolAgg(n, f, true, false)
	}, false},
	"anyFalse": {0, 0, func(c *env, n *callNode, f []Item) ([]Item, error) {
		return boolAgg(n, f, false, false)
	}, false},
	"subsetOf": {1, 1, func(c *env, n *callNode, f []Item) ([]Item, error) {
		other, err := c.arg(n, 0)
		return boolItems(subset(f, other)), err
	}, false},
	"supersetOf": {1, 1, func(c *env, n *callNode, f []Item) ([]Item, error) {
		other, err := c.arg(n, 0)
		return boolItems(subset(other, f)), err
	}, false},
	"count": {0, 0, func(c *env, n *callNode, f []Item) ([]Item, error) {
		return []Item{sysItem(int64(len(f)))}, nil
	}, false},
	"distinct": {0, 0, func(c *env, n *callNode, f []Item) ([]Item, error) {
		return distinct(f), nil
	}, false},
	"isDistinct": {0, 0, func(c *env, n *callNode, f []Item) ([]Item, error) {
		return boolItems(len(distinct(f)) == len(f)), nil
	}, false},
}

func fnExists(c *env, n *callNode, f []Item) ([]Item, error) {
	if len(n.args) == 0 {
		return boolItems(len(f) > 0), nil
	}
	for i := range f {
		r, err := c.withThis(n.args[0], f, i)
		if err != nil {
			return nil, err
		}
		if b, ok, err := toBool(r); err != nil {
			return nil, err
		} else if ok && b {
			return boolItems(true), nil
		}
	}
	return boolItems(false), nil
}

func fnAll(c *env, n *callNode, f []Item) ([]Item, error) {
	for i := range f {
		r, err := c.withThis(n.args[0], f, i)
		if err != nil {
			return nil, err
		}
		if b, ok, err := toBool(r); err != nil {
			return nil, err
		} else if !ok || !b {
			return boolItems(false), nil
		}
	}
	return boolItems(true), nil
}

// boolAgg implements allTrue/anyTrue/allFalse/anyFalse: every is true for
// the all* forms, want is the value looked for.
func boolAgg(n *callNode, f []Item, every, want bool) ([]Item, error) {
	for _, it := range f {
		b, ok := it.v.(bool)
		if !ok {
			return nil, evalErr("%s() needs booleans", n.name)
		}
		if every && b != want {
			return boolItems(false), nil
		}
		if !every && b == want {
			return boolItems(true), nil
		}
	}
	return boolItems(every), nil
}

func subset(a, b []Item) bool {
	for _, x := range a {
		if !contains(b, x) {
			return false
		}
	}
	return true
}

func distinct(f []Item) []Item {
	out := make([]Item, 0, len(f))
	for _, x := range f {
		if !contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}
