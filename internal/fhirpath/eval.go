package fhirpath

import (
	"slices"
	"strings"
	"sync"
	"time"
)

// Expr is a compiled FHIRPath expression. It is immutable and safe for
// concurrent use: compile each expression once and evaluate it against as
// many resources as needed.
type Expr struct {
	src  string
	root node
}

// String returns the source text of the expression.
func (e *Expr) String() string { return e.src }

// Compile parses a FHIRPath expression (http://hl7.org/fhirpath/N1/).
// It returns a *SyntaxError for text that does not match the grammar, and
// an error wrapping ErrUnsupported for a function the engine does not
// implement, so an expression that compiles can be evaluated.
func Compile(expr string) (*Expr, error) {
	toks, err := lex(expr)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	root, err := p.parseExpr(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, syntaxErr(t.pos, "unexpected '"+t.text+"'")
	}
	return &Expr{src: expr, root: memoize(root, false)}, nil
}

// MustCompile is Compile for expressions known to be valid, such as
// constants in the program; it panics on error.
func MustCompile(expr string) *Expr {
	e, err := Compile(expr)
	if err != nil {
		panic(err)
	}
	return e
}

// Options tunes one evaluation. The zero value (or a nil *Options) is valid.
type Options struct {
	// Model supplies FHIR element types. Nil means R4().
	Model Model
	// Resolve fetches the resource a reference points to, for resolve().
	// It receives the reference text (Reference.reference or a canonical or
	// uri value) and returns the decoded resource. When it is nil or
	// returns false, resolve() still yields an item typed by the resource
	// type in the reference ("Patient/123" is a Patient) but without
	// content, which is all that `resolve() is Patient` needs.
	Resolve func(reference string) (any, bool)
	// MemberOf answers memberOf(valueSet) for a code, Coding or
	// CodeableConcept. Without it memberOf() returns an error wrapping
	// ErrUnsupported.
	MemberOf func(code any, valueSet string) (bool, error)
	// Variables supplies %name environment variables beyond those the
	// specification defines. Values are decoded JSON or Go strings, bools,
	// int64 and json.Number.
	Variables map[string]any
	// Context, when not nil, is the focus the expression starts from
	// (%context) instead of the resource, as when an invariant is checked
	// on an element; ContextType is its FHIR type or backbone path.
	Context     any
	ContextType string
	// ContextCompanion is, for a primitive Context, the object FHIR JSON
	// carries beside it under "_name" with its id and extensions (R4
	// json.html#primitive); Context is nil for a primitive that has only
	// that object.
	ContextCompanion map[string]any
	// RootResource is %rootResource, the resource that contains
	// %resource: it differs from it inside a contained resource (R4
	// fhirpath.html#variables). Nil means %resource itself.
	RootResource any
	// Now fixes the value of now(), today() and timeOfDay(); zero means the
	// clock at the start of the evaluation.
	Now time.Time
	// Trace receives trace(name) output; nil discards it.
	Trace func(name string, items Collection)
}

// env is the state of one evaluation. Lambda functions (where, select, all,
// repeat ...) set this and index while evaluating their argument and restore
// them afterwards, so no per-item environment is allocated.
type env struct {
	opts     *Options
	model    Model
	resource []Item
	root     []Item // %rootResource
	context  []Item
	this     []Item
	index    int
	total    []Item
	now      time.Time
	roots    [3]Item // backing store for resource, context and root
	// memo keeps the results of memoNodes for this evaluation; memoized
	// and sets index the long ones for `in` (see memo.go).
	memo     map[*memoNode][]Item
	memoized map[*Item]int
	sets     map[*Item]map[string]bool
}

var (
	noOptions Options
	// envPool recycles evaluation state: the indexer evaluates every
	// search parameter of a type against each resource written, and an
	// env per evaluation was a third of the allocations of a simple path.
	envPool = sync.Pool{New: func() any { return new(env) }}
)

// Evaluate runs the expression with resource as %resource and, unless
// opts.Context is set, as the initial focus. resource is a FHIR resource
// decoded by encoding/json with UseNumber (map[string]any, []any, string,
// bool, json.Number), so decimals keep their precision. The resource is
// never modified. Item values share memory with the resource, and the
// collection itself may share storage with the compiled expression, so
// callers MUST NOT assign to its elements (appending is safe). Errors are *EvalError for conditions the specification defines
// as errors and wrap ErrUnsupported for unimplemented features.
func (e *Expr) Evaluate(resource any, opts *Options) (Collection, error) {
	if opts == nil {
		opts = &noOptions
	}
	c := envPool.Get().(*env)
	*c = env{opts: opts, model: opts.Model, index: -1}
	defer func() {
		*c = env{}
		envPool.Put(c)
	}()
	if c.model == nil {
		c.model = specModel{}
	}
	if resource != nil {
		c.roots[0] = c.typedRoot(resource, "")
		c.resource = c.roots[0:1:1]
	}
	c.root = c.resource
	if opts.RootResource != nil {
		c.roots[2] = c.typedRoot(opts.RootResource, "")
		c.root = c.roots[2:3:3]
	}
	c.context = c.resource
	if opts.Context != nil || opts.ContextCompanion != nil {
		c.roots[1] = c.typedRoot(opts.Context, opts.ContextType)
		c.roots[1].ext = opts.ContextCompanion
		c.context = c.roots[1:2:2]
	}
	c.this = c.context
	out, err := e.root.eval(c, c.this)
	if err != nil {
		return nil, err
	}
	if len(out) > 0 && (&out[0] == &c.roots[0] || &out[0] == &c.roots[1] || &out[0] == &c.roots[2] || &out[0] == &trueItems[0] || &out[0] == &falseItems[0]) {
		// The result is the root itself, whose storage goes back to the
		// pool, or a boolean shared by every evaluation.
		out = append([]Item(nil), out...)
	}
	return Collection(out), nil
}

func (c *env) typedRoot(v any, typ string) Item {
	if typ == "" {
		typ = inferredType(Item{v: v})
	}
	return Item{v: v, typ: typ}
}

func (c *env) clock() time.Time {
	if c.now.IsZero() {
		c.now = c.opts.Now
		if c.now.IsZero() {
			c.now = time.Now()
		}
	}
	return c.now
}

// node is one step of a compiled expression. eval receives the input
// collection and must not modify it or retain it beyond returning it.
type node interface {
	eval(c *env, in []Item) ([]Item, error)
}

type literalNode struct{ items []Item }

func (n *literalNode) eval(*env, []Item) ([]Item, error) {
	return n.items[:len(n.items):len(n.items)], nil
}

type specialNode struct{ name string }

func (n *specialNode) eval(c *env, _ []Item) ([]Item, error) {
	switch n.name {
	case "$this":
		return c.this, nil
	case "$index":
		if c.index < 0 {
			return nil, nil
		}
		return []Item{sysItem(int64(c.index))}, nil
	default:
		return c.total, nil
	}
}

// varNode reads an environment variable (http://hl7.org/fhirpath/N1/#environment-variables
// and the FHIR additions at http://hl7.org/fhir/R4/fhirpath.html#variables).
type varNode struct{ name string }

func (n *varNode) eval(c *env, _ []Item) ([]Item, error) {
	switch n.name {
	case "resource":
		return c.resource, nil
	case "rootResource":
		return c.root, nil
	case "context":
		return c.context, nil
	case "ucum":
		return []Item{sysItem("http://unitsofmeasure.org")}, nil
	case "sct":
		return []Item{sysItem("http://snomed.info/sct")}, nil
	case "loinc":
		return []Item{sysItem("http://loinc.org")}, nil
	}
	if v, ok := c.opts.Variables[n.name]; ok {
		return valueItems(v), nil
	}
	if rest, ok := strings.CutPrefix(n.name, "vs-"); ok {
		return []Item{sysItem("http://hl7.org/fhir/ValueSet/" + rest)}, nil
	}
	if rest, ok := strings.CutPrefix(n.name, "ext-"); ok {
		return []Item{sysItem("http://hl7.org/fhir/StructureDefinition/" + rest)}, nil
	}
	return nil, evalErr("undefined variable %%%s", n.name)
}

// valueItems turns a caller-supplied variable into a collection.
func valueItems(v any) []Item {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		out := make([]Item, 0, len(x))
		for _, e := range x {
			out = append(out, valueItems(e)...)
		}
		return out
	case int:
		return []Item{sysItem(int64(x))}
	case string, bool, int64:
		return []Item{sysItem(x)}
	case Item:
		return []Item{x}
	case Collection:
		return x
	}
	return []Item{{v: v, typ: inferredType(Item{v: v})}}
}

type unaryNode struct {
	neg bool
	x   node
}

func (n *unaryNode) eval(c *env, in []Item) ([]Item, error) {
	xs, err := n.x.eval(c, in)
	if err != nil || len(xs) == 0 {
		return nil, err
	}
	if len(xs) > 1 {
		return nil, evalErr("unary operator applied to a collection of %d items", len(xs))
	}
	v, k := sysValue(xs[0])
	if !n.neg {
		if k == kindInt || k == kindDec || k == kindQty {
			return []Item{sysItem(v)}, nil
		}
		return nil, evalErr("unary + needs a number")
	}
	switch k {
	case kindInt:
		return []Item{sysItem(-v.(int64))}, nil
	case kindDec:
		return []Item{sysItem(v.(decimal).neg())}, nil
	case kindQty:
		q := v.(quantity)
		return []Item{sysItem(quantity{v: q.v.neg(), unit: q.unit})}, nil
	}
	return nil, evalErr("unary - needs a number")
}

type indexNode struct{ x, idx node }

func (n *indexNode) eval(c *env, in []Item) ([]Item, error) {
	xs, err := n.x.eval(c, in)
	if err != nil {
		return nil, err
	}
	is, err := n.idx.eval(c, c.this)
	if err != nil || len(is) == 0 {
		return nil, err
	}
	i, ok := is[0].v.(int64)
	if !ok || len(is) != 1 {
		return nil, evalErr("index must be a single integer")
	}
	if i < 0 || i >= int64(len(xs)) {
		return nil, nil
	}
	return xs[i : i+1 : i+1], nil
}

// memberNode navigates to child elements named name of each item in the
// focus (http://hl7.org/fhirpath/N1/#path-selection). At the start of a
// path a name that is the type of the input item selects the item itself,
// so "Patient.name" works on a Patient.
type memberNode struct {
	x    node
	name string
}

func (n *memberNode) eval(c *env, in []Item) ([]Item, error) {
	focus := in
	if n.x != nil {
		var err error
		if focus, err = n.x.eval(c, in); err != nil {
			return nil, err
		}
	} else if n.name != "" && n.name[0] >= 'A' && n.name[0] <= 'Z' {
		if len(in) == 1 && (in[0].typ == n.name || inferredType(in[0]) == n.name) {
			return in, nil
		}
		var out []Item
		for _, it := range in {
			if c.isA(it, typeSpec{name: n.name}) {
				out = append(out, it)
			}
		}
		if out != nil {
			return out, nil
		}
	}
	var out []Item
	for i := range focus {
		out = c.children(out, focus[i], n.name)
	}
	return out, nil
}

// children appends the items of element name of parent to out. Primitive
// values and their "_name" extension objects are zipped together
// (http://hl7.org/fhir/R4/json.html#primitive). A choice element is found
// by the JSON property that starts with its name followed by a type suffix
// (valueQuantity), which also gives its type
// (http://hl7.org/fhir/R4/formats.html#choice).
func (c *env) children(out []Item, parent Item, name string) []Item {
	m, ok := parent.v.(map[string]any)
	if !ok {
		if ti, ok := parent.v.(typeInfo); ok {
			switch name {
			case "namespace":
				return append(out, sysItem(ti.namespace))
			case "name":
				return append(out, sysItem(ti.name))
			}
		}
		return primitiveChildren(out, parent, name)
	}
	var info ElementInfo
	known := false
	if c.model != nil && parent.typ != "" {
		info, known = c.model.Element(parent.typ, name)
	}
	if !known || !info.Choice {
		v, hasV := m[name]
		e, hasE := m["_"+name]
		if hasV || hasE {
			typ := ""
			if known && len(info.Types) == 1 {
				typ = info.Types[0]
			}
			return appendValues(out, v, e, typ)
		}
		if known {
			return out
		}
	}
	for k, v := range m {
		if k != "" && k[0] == '_' {
			// A choice primitive that has only its id and extensions
			// ("_valueString" without "valueString") is still present.
			if _, both := m[k[1:]]; both {
				continue
			}
			k, v = k[1:], nil
		}
		if len(k) <= len(name) || k[:len(name)] != name || k[len(name)] < 'A' || k[len(name)] > 'Z' {
			continue
		}
		suffix := k[len(name):]
		typ, prim := fhirPrimitives[suffix]
		if !prim {
			typ = suffix
		}
		if known && !containsString(info.Types, typ) {
			continue
		}
		out = appendValues(out, v, m["_"+k], typ)
	}
	return out
}

// primitiveChildren appends the children of a primitive: its id and
// extensions, which FHIR JSON carries in the "_name" object beside the
// value (R4 json.html#primitive). The value itself is not a child; it is
// the item (FHIRPath: a primitive's value is reached as the item, its
// id and extension as elements, R4 fhirpath.html#types).
func primitiveChildren(out []Item, parent Item, name string) []Item {
	if parent.ext == nil {
		return out
	}
	switch name {
	case "id":
		if id, ok := parent.ext["id"].(string); ok {
			return append(out, Item{v: id, typ: TypeString})
		}
	case "extension":
		return appendValues(out, parent.ext["extension"], nil, "Extension")
	}
	return out
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func appendValues(out []Item, v, ext any, typ string) []Item {
	arr, ok := v.([]any)
	if exts, isArr := ext.([]any); v == nil && isArr {
		// A repeating primitive none of whose entries has a value:
		// "_given" without "given" (R4 json.html#primitive).
		arr, ok = make([]any, len(exts)), true
	}
	if ok {
		out = slices.Grow(out, len(arr))
		exts, _ := ext.([]any)
		for i, x := range arr {
			var e map[string]any
			if i < len(exts) {
				e, _ = exts[i].(map[string]any)
			}
			if x == nil && e == nil {
				continue
			}
			out = append(out, itemOf(x, e, typ))
		}
		return out
	}
	e, _ := ext.(map[string]any)
	if v == nil && e == nil {
		return out
	}
	return append(out, itemOf(v, e, typ))
}

func itemOf(v any, ext map[string]any, typ string) Item {
	if m, ok := v.(map[string]any); ok {
		if rt, ok := m["resourceType"].(string); ok {
			typ = rt
		}
	}
	return Item{v: v, typ: typ, ext: ext}
}

// typeOpNode is the `is` and `as` operators (http://hl7.org/fhirpath/N1/#types-and-reflection).
type typeOpNode struct {
	as bool
	x  node
	t  typeSpec
}

func (n *typeOpNode) eval(c *env, in []Item) ([]Item, error) {
	xs, err := n.x.eval(c, in)
	if err != nil || len(xs) == 0 {
		return nil, err
	}
	if err := c.checkType(n.t); err != nil {
		return nil, err
	}
	if len(xs) > 1 {
		// The operator form of `as` filters rather than failing on several
		// items: R4 search parameters depend on it
		// ((ActivityDefinition.useContext.value as CodeableConcept)).
		if n.as {
			return c.filterType(xs, n.t), nil
		}
		return nil, evalErr("'is' applied to a collection of %d items", len(xs))
	}
	if n.as {
		if c.castable(xs[0], n.t) {
			return xs, nil
		}
		return nil, nil
	}
	return boolItems(c.isA(xs[0], n.t)), nil
}

func (c *env) filterType(xs []Item, t typeSpec) []Item {
	var out []Item
	for _, it := range xs {
		if c.castable(it, t) {
			out = append(out, it)
		}
	}
	return out
}
