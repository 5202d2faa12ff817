package fhirpath

import (
	"strconv"
)

// callNode is a function invocation. Functions receive their arguments
// unevaluated because several (where, select, all, exists, repeat, iif)
// evaluate them once per input item with $this bound to that item
// (http://hl7.org/fhirpath/N1/#functions).
type callNode struct {
	x    node
	name string
	fn   fnImpl
	args []node
	ts   typeSpec // the type argument of is(), as() and ofType()
}

type fnImpl func(c *env, n *callNode, focus []Item) ([]Item, error)

type fnDef struct {
	min, max int
	impl     fnImpl
	typeArg  bool
}

var functions map[string]fnDef

// notSupported names functions defined by FHIRPath or FHIR that this engine
// deliberately does not implement; calling one is an ErrUnsupported compile
// error rather than a silent wrong answer.
var notSupported = map[string]bool{
	"lowBoundary": true, "highBoundary": true,
	"elementDefinition": true, "slice": true, "checkModifiers": true,
	"subsumes": true, "subsumedBy": true, "defineVariable": true,
	"yearOf": true, "monthOf": true, "dayOf": true, "hourOf": true, "minuteOf": true,
	"secondOf": true, "millisecondOf": true, "timezoneOffsetOf": true, "dateOf": true, "timeOf": true,
}

func newCall(t token, focus node, args []node) (node, error) {
	def, ok := functions[t.text]
	if !ok {
		if notSupported[t.text] {
			return nil, unsupported("function " + t.text + "()")
		}
		return nil, syntaxErr(t.pos, "unknown function "+strconv.Quote(t.text))
	}
	if len(args) < def.min || len(args) > def.max {
		return nil, syntaxErr(t.pos, "wrong number of arguments to "+t.text+"()")
	}
	n := &callNode{x: focus, name: t.text, fn: def.impl, args: args}
	if def.typeArg {
		ts, ok := asTypeSpec(args[0])
		if !ok {
			return nil, syntaxErr(t.pos, t.text+"() needs a type name")
		}
		n.ts = ts
	}
	return n, nil
}

func (n *callNode) eval(c *env, in []Item) ([]Item, error) {
	focus := in
	if n.x != nil {
		var err error
		if focus, err = n.x.eval(c, in); err != nil {
			return nil, err
		}
	}
	return n.fn(c, n, focus)
}

// arg evaluates argument i against the current $this, the input of the
// expression the function appears in.
func (c *env) arg(n *callNode, i int) ([]Item, error) {
	return n.args[i].eval(c, c.this)
}

// singleArg evaluates argument i and requires at most one item.
func (c *env) singleArg(n *callNode, i int) (Item, bool, error) {
	xs, err := c.arg(n, i)
	if err != nil || len(xs) == 0 {
		return Item{}, false, err
	}
	if len(xs) > 1 {
		return Item{}, false, evalErr("argument %d of %s() must be a single item", i+1, n.name)
	}
	return xs[0], true, nil
}

func (c *env) intArg(n *callNode, i int) (int64, bool, error) {
	it, ok, err := c.singleArg(n, i)
	if !ok || err != nil {
		return 0, false, err
	}
	v, k := sysValue(it)
	if k != kindInt {
		return 0, false, evalErr("argument %d of %s() must be an integer", i+1, n.name)
	}
	return v.(int64), true, nil
}

func (c *env) stringArg(n *callNode, i int) (string, bool, error) {
	it, ok, err := c.singleArg(n, i)
	if !ok || err != nil {
		return "", false, err
	}
	v, k := sysValue(it)
	if k != kindString {
		return "", false, evalErr("argument %d of %s() must be a string", i+1, n.name)
	}
	return v.(string), true, nil
}

// withThis evaluates arg with $this set to focus[i] and $index to i, then
// restores the previous bindings.
func (c *env) withThis(arg node, focus []Item, i int) ([]Item, error) {
	savedThis, savedIndex := c.this, c.index
	c.this, c.index = focus[i:i+1:i+1], i
	out, err := arg.eval(c, c.this)
	c.this, c.index = savedThis, savedIndex
	return out, err
}

// singleInput applies the rule that a function on a single value returns
// empty for empty input and fails for more than one item
// (http://hl7.org/fhirpath/N1/#singleton-evaluation-of-collections).
func singleInput(n *callNode, focus []Item) (Item, bool, error) {
	switch len(focus) {
	case 0:
		return Item{}, false, nil
	case 1:
		return focus[0], true, nil
	}
	return Item{}, false, evalErr("%s() needs a single input item, got %d", n.name, len(focus))
}

func init() {
	registerConversions()
	functions = map[string]fnDef{}
	for name, d := range existenceFunctions {
		functions[name] = d
	}
	for name, d := range filterFunctions {
		functions[name] = d
	}
	for name, d := range stringFunctions {
		functions[name] = d
	}
	for name, d := range moreStringFunctions {
		functions[name] = d
	}
	for name, d := range aggregateFunctions {
		functions[name] = d
	}
	for name, d := range mathFunctions {
		functions[name] = d
	}
	for name, d := range conversionFunctions {
		functions[name] = d
	}
	for name, d := range fhirFunctions {
		functions[name] = d
	}
}
