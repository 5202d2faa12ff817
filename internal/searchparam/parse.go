package searchparam

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nhs-junction/junction/internal/fhir"
)

// Options adjust parsing.
type Options struct {
	// Lenient ignores unknown parameters and unsupported modifiers instead
	// of failing (Prefer: handling=lenient, search.html 3.1.1.3); they are
	// listed in Query.Ignored. Malformed values are errors either way.
	Lenient bool
	// Now is the clock for ap on dates; zero means time.Now.
	Now time.Time
	// Base is this server's base URL ("https://host/fhir"): an absolute
	// reference under it is searched as the relative reference it names.
	Base string
}

// MaxChain bounds the depth of chains and _has nesting, so one query
// cannot make the planner build an unbounded join.
const MaxChain = 6

// errIgnorable marks a failure that lenient handling skips: an unknown
// parameter or an unsupported modifier.
type errIgnorable struct{ err *fhir.Error }

func (e *errIgnorable) Error() string { return e.err.Error() }

// errSkip marks a parameter that is used but not echoed in the self link.
var errSkip = errors.New("skip")

func badValue(key, format string, args ...any) error {
	return fhir.Errorf(400, fhir.IssueInvalid, "search parameter %q: %s", key, fmt.Sprintf(format, args...))
}

func unknown(key, format string, args ...any) error {
	return &errIgnorable{fhir.Errorf(400, fhir.IssueNotSupported, "search parameter %q: %s", key, fmt.Sprintf(format, args...))}
}

func unsupported(key, format string, args ...any) error {
	return fhir.Errorf(400, fhir.IssueNotSupported, "search parameter %q: %s", key, fmt.Sprintf(format, args...))
}

// ParseQueryString splits a raw query string into parameters in the order
// sent. url.ParseQuery loses the order, which the self link keeps.
func ParseQueryString(raw string) ([]Param, error) {
	var out []Param
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		ku, err := url.QueryUnescape(k)
		if err != nil {
			return nil, fhir.Errorf(400, fhir.IssueInvalid, "malformed query string near %q", k)
		}
		vu, err := url.QueryUnescape(v)
		if err != nil {
			return nil, fhir.Errorf(400, fhir.IssueInvalid, "search parameter %q: malformed escape in value", ku)
		}
		out = append(out, Param{ku, vu})
	}
	return out, nil
}

// ParamsFromValues lists v as parameters, names sorted, values in order.
func ParamsFromValues(v url.Values) []Param {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []Param
	for _, k := range keys {
		for _, x := range v[k] {
			out = append(out, Param{k, x})
		}
	}
	return out
}

// Parse parses the parameters of a search on resourceType ("" for a
// system-level search) against reg. Every failure is a *fhir.Error with
// status 400 naming the parameter.
func Parse(reg Registry, resourceType string, params []Param, opt Options) (*Query, error) {
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	p := &parser{system: resourceType == "", reg: reg, opt: opt, q: &Query{Count: DefaultCount}}
	if resourceType != "" {
		if !reg.IsResourceType(resourceType) {
			return nil, fhir.Errorf(400, fhir.IssueNotSupported, "%q is not a resource type", resourceType)
		}
		p.q.Types = []string{resourceType}
	} else {
		// _type decides what every other parameter is checked against, so
		// it is read first.
		for _, prm := range params {
			if prm.Name != "_type" {
				continue
			}
			for _, t := range strings.Split(prm.Value, ",") {
				if !reg.IsResourceType(t) {
					return nil, badValue("_type", "%q is not a resource type", t)
				}
				if !slices.Contains(p.q.Types, t) {
					p.q.Types = append(p.q.Types, t)
				}
			}
		}
	}
	seen := map[string]bool{}
	for _, prm := range params {
		err := p.param(prm, seen)
		var ig *errIgnorable
		switch {
		case err == errSkip:
		case err == nil:
			if prm.Name == "_count" {
				// The links state the count actually used.
				prm.Value = strconv.Itoa(p.q.Count)
			}
			p.q.Applied = append(p.q.Applied, prm)
		case errors.As(err, &ig) && opt.Lenient:
			p.q.Ignored = append(p.q.Ignored, prm.Name)
		case errors.As(err, &ig):
			return nil, ig.err
		default:
			return nil, err
		}
	}
	return p.q, nil
}

type parser struct {
	system bool
	reg    Registry
	opt    Options
	q      *Query
}

var elementRE = regexp.MustCompile(`^([A-Z][A-Za-z]*\.)?[a-z][A-Za-z0-9]*(\[x\])?$`)

func (p *parser) once(name string, seen map[string]bool) error {
	if seen[name] {
		return badValue(name, "may appear only once")
	}
	seen[name] = true
	return nil
}

func (p *parser) param(prm Param, seen map[string]bool) error {
	name, v := prm.Name, prm.Value
	base, mod, _ := strings.Cut(name, ":")
	switch base {
	case "_format", "_pretty":
		return nil
	case "_cursor":
		if err := p.once(base, seen); err != nil {
			return err
		}
		p.q.Cursor = v
		return errSkip
	case "_type":
		// A system search read _type before the loop; a type-level search
		// accepts only its own type.
		if p.system {
			return nil
		}
		if v != p.q.Types[0] {
			return badValue(name, "a search on %s cannot be widened to %q", p.q.Types[0], v)
		}
		return nil
	case "_count":
		if err := p.once(base, seen); err != nil {
			return err
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return badValue(name, "%q is not a non-negative integer", v)
		}
		p.q.Count = min(n, MaxCount)
		if n > MaxCount {
			p.q.CountAsked = n
		}
		return nil
	case "_total":
		if err := p.once(base, seen); err != nil {
			return err
		}
		switch t := Total(v); t {
		case TotalNone, TotalEstimate, TotalAccurate:
			p.q.Total = t
			return nil
		}
		return badValue(name, "%q is not none, estimate or accurate", v)
	case "_summary":
		if err := p.once(base, seen); err != nil {
			return err
		}
		switch s := Summary(v); s {
		case SummaryTrue, SummaryText, SummaryData, SummaryCount, SummaryFalse:
			p.q.Summary = s
			return nil
		}
		return badValue(name, "%q is not true, text, data, count or false", v)
	case "_elements":
		for _, e := range strings.Split(v, ",") {
			e = strings.TrimSpace(e)
			if !elementRE.MatchString(e) {
				return badValue(name, "%q is not an element name", e)
			}
			p.q.Elements = append(p.q.Elements, e)
		}
		return nil
	case "_sort":
		if err := p.once(base, seen); err != nil {
			return err
		}
		return p.sort(name, v)
	case "_include", "_revinclude":
		iterate := false
		switch mod {
		case "":
		case "iterate", "recurse":
			iterate = true
		default:
			return unknown(name, "unknown modifier %q", mod)
		}
		return p.include(name, base == "_revinclude", iterate, v)
	case "_contained", "_containedType":
		if v == "false" || (base == "_containedType" && v == "container") {
			return nil
		}
		return unsupported(name, "searching contained resources is not supported")
	case "_query", "_filter":
		return unknown(name, "is not supported")
	case "_list":
		return p.list(name, v)
	}
	f, leaf, err := p.key(p.q.Types, name, 0)
	if err != nil {
		return err
	}
	if err := p.values(leaf, v); err != nil {
		return err
	}
	p.q.Filters = append(p.q.Filters, f)
	return nil
}

// lookup finds name on every one of types (Common when types is empty);
// the parameter must have the same kind everywhere, because one predicate
// tests all the types.
func (p *parser) lookup(types []string, name, key string) (*Def, error) {
	if len(types) == 0 {
		for _, d := range Common() {
			if d.Name == name {
				return d, nil
			}
		}
		return nil, unknown(key, "is not a parameter of every resource; use _type to search by it")
	}
	var def *Def
	for _, t := range types {
		d, ok := p.reg.Lookup(t, name)
		if !ok {
			return nil, unknown(key, "%q is not a search parameter of %s", name, t)
		}
		if def != nil && d.Kind != def.Kind {
			return nil, badValue(key, "has type %s on one resource type and %s on another", def.Kind, d.Kind)
		}
		if def == nil {
			def = d
		}
	}
	return def, nil
}

// key parses a parameter name: a plain parameter with an optional
// modifier, a chain (ref[:Type].rest) or a reverse chain
// (_has:Type:ref:rest). It returns the outer filter and the leaf that
// receives the values.
func (p *parser) key(types []string, key string, depth int) (*Filter, *Filter, error) {
	if depth > MaxChain {
		return nil, nil, fhir.Errorf(400, fhir.IssueTooCostly, "search parameter %q: chains deeper than %d are not supported", key, MaxChain)
	}
	if rest, ok := strings.CutPrefix(key, "_has:"); ok {
		parts := strings.SplitN(rest, ":", 3)
		if len(parts) != 3 || parts[2] == "" {
			return nil, nil, badValue(key, "_has must be _has:Type:reference:parameter")
		}
		typ, refName := parts[0], parts[1]
		if !p.reg.IsResourceType(typ) {
			return nil, nil, badValue(key, "%q is not a resource type", typ)
		}
		ref, err := p.lookup([]string{typ}, refName, key)
		if err != nil {
			return nil, nil, err
		}
		if ref.Kind != KindReference {
			return nil, nil, badValue(key, "%s.%s is not a reference parameter", typ, refName)
		}
		if len(ref.Targets) > 0 && len(types) > 0 {
			for _, t := range types {
				if !slices.Contains(ref.Targets, t) {
					return nil, nil, badValue(key, "%s.%s cannot refer to %s", typ, refName, t)
				}
			}
		}
		inner, leaf, err := p.key([]string{typ}, parts[2], depth+1)
		if err != nil {
			return nil, nil, err
		}
		return &Filter{Key: key, Types: types, Has: &Has{Type: typ, Ref: ref, Filter: inner}}, leaf, nil
	}
	if head, tail, ok := strings.Cut(key, "."); ok {
		name, typ, _ := strings.Cut(head, ":")
		def, err := p.lookup(types, name, key)
		if err != nil {
			return nil, nil, err
		}
		if def.Kind != KindReference {
			return nil, nil, badValue(key, "%q is not a reference parameter, so it cannot be chained", name)
		}
		var candidates []string
		if typ != "" {
			if !p.reg.IsResourceType(typ) || (len(def.Targets) > 0 && !slices.Contains(def.Targets, typ)) {
				return nil, nil, badValue(key, "%q cannot refer to %q", name, typ)
			}
			candidates = []string{typ}
		} else {
			// search.html 3.1.1.4.13: without a type the chain applies to
			// every target type that has the chained parameter.
			next, _, _ := strings.Cut(tail, ".")
			next, _, _ = strings.Cut(next, ":")
			for _, t := range def.Targets {
				if _, ok := p.reg.Lookup(t, next); ok {
					candidates = append(candidates, t)
				}
			}
			if len(candidates) == 0 {
				return nil, nil, badValue(key, "no resource type %q can refer to has a parameter %q; name the type as %s:Type", name, next, name)
			}
		}
		inner, leaf, err := p.key(candidates, tail, depth+1)
		if err != nil {
			return nil, nil, err
		}
		return &Filter{Key: key, Types: types, Def: def, TargetType: typ, Chain: inner}, leaf, nil
	}
	name, mod, hasMod := strings.Cut(key, ":")
	def, err := p.lookup(types, name, key)
	if err != nil {
		return nil, nil, err
	}
	f := &Filter{Key: key, Types: types, Def: def}
	if hasMod {
		if err := p.modifier(f, mod); err != nil {
			return nil, nil, err
		}
	}
	return f, f, nil
}

// modifier checks mod against the kinds R4 allows it on
// (search.html 3.1.1.5).
func (p *parser) modifier(f *Filter, mod string) error {
	k := f.Def.Kind
	m := Modifier(mod)
	ok := false
	switch m {
	case ModMissing:
		// near is indexed like any other parameter (one row per
		// position), so it can be missing; _text and _content cannot.
		ok = (k != KindSpecial || f.Def.Name == "near") && k != KindComposite
	case ModExact, ModContains:
		ok = k == KindString
	case ModText, ModNot, ModOfType:
		ok = k == KindToken
	case ModAbove, ModBelow:
		if k == KindToken {
			return unsupported(f.Key, ":%s on a token needs terminology subsumption, which this server does not yet support", mod)
		}
		ok = k == KindURI
	case ModIdentifier:
		ok = k == KindReference
	case "in", "not-in":
		return unsupported(f.Key, ":%s needs ValueSet expansion, which this server does not yet support", mod)
	default:
		if k == KindReference && p.reg.IsResourceType(mod) {
			if len(f.Def.Targets) > 0 && !slices.Contains(f.Def.Targets, mod) {
				return badValue(f.Key, "%q cannot refer to %q", f.Def.Name, mod)
			}
			f.Modifier, f.TargetType = ModType, mod
			return nil
		}
		return unknown(f.Key, "unknown modifier %q", mod)
	}
	if !ok {
		return unknown(f.Key, "modifier :%s does not apply to %s parameter", mod, fhir.A(string(k)))
	}
	f.Modifier = m
	return nil
}

func (p *parser) sort(name, v string) error {
	for _, s := range strings.Split(v, ",") {
		desc := strings.HasPrefix(s, "-")
		s = strings.TrimPrefix(s, "-")
		def, err := p.lookup(p.q.Types, s, name)
		if err != nil {
			return badValue(name, "cannot sort by %q: it is not a search parameter of the searched type", s)
		}
		if def.Kind == KindComposite || def.Kind == KindSpecial {
			return badValue(name, "cannot sort by %q, %s parameter", s, fhir.A(string(def.Kind)))
		}
		p.q.Sort = append(p.q.Sort, SortKey{Def: def, Descending: desc})
	}
	return nil
}

func (p *parser) include(name string, rev, iterate bool, v string) error {
	if v == "*" {
		inc := Include{Source: "*", Iterate: iterate}
		if rev {
			p.q.RevInclude = append(p.q.RevInclude, inc)
		} else {
			p.q.Include = append(p.q.Include, inc)
		}
		return nil
	}
	parts := strings.Split(v, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return badValue(name, "%q is not Type:parameter[:targetType]", v)
	}
	src := parts[0]
	if !p.reg.IsResourceType(src) {
		return badValue(name, "%q is not a resource type", src)
	}
	inc := Include{Source: src, Iterate: iterate}
	if parts[1] != "*" {
		def, ok := p.reg.Lookup(src, parts[1])
		if !ok || def.Kind != KindReference {
			return badValue(name, "%q is not a reference parameter of %s", parts[1], src)
		}
		inc.Param = def
	}
	if len(parts) == 3 {
		t := parts[2]
		if !p.reg.IsResourceType(t) || (inc.Param != nil && len(inc.Param.Targets) > 0 && !slices.Contains(inc.Param.Targets, t)) {
			return badValue(name, "%q cannot refer to %q", v, t)
		}
		inc.Target = t
	}
	// search.html 3.2.1.6.5: without :iterate an _include starts from the
	// matches, so its source must be a searched type.
	if !rev && !iterate && len(p.q.Types) > 0 && !slices.Contains(p.q.Types, src) {
		return badValue(name, "%s is not a searched type; use _include:iterate", src)
	}
	if rev {
		p.q.RevInclude = append(p.q.RevInclude, inc)
	} else {
		p.q.Include = append(p.q.Include, inc)
	}
	return nil
}

// list parses _list=id: resources that are entries of List/id
// (search.html 3.1.1.3.6). It becomes a _has on List.item.
func (p *parser) list(name, v string) error {
	if !fhir.ValidID(v) {
		return badValue(name, "%q is not a List id (functional lists such as $current-allergies are not supported)", v)
	}
	item, ok := p.reg.Lookup("List", "item")
	if !ok {
		return unsupported(name, "the registry has no List.item parameter")
	}
	id, _ := p.reg.Lookup("List", "_id")
	inner := &Filter{Key: "_id", Types: []string{"List"}, Def: id, Values: []Value{{Token: Token{AnySystem: true, Code: v}}}}
	p.q.Filters = append(p.q.Filters, &Filter{Key: name, Types: p.q.Types, Has: &Has{Type: "List", Ref: item, Filter: inner}})
	return nil
}
