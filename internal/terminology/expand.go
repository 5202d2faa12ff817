package terminology

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// expanded is a complete expansion with an index by system and code.
type expanded struct {
	list []Contains
	idx  map[string]int // system + "|" + code
	// byCode indexes by code alone, for $validate-code without a system.
	byCode map[string]int
	// published is set when the codes are a published expansion.
	published *published
}

// Expand returns one page of the expansion of the value set with the URL
// (a version suffix "|v" is ignored), for ValueSet $expand (R4
// valueset-operation-expand). filter, when not empty, keeps the codes
// whose display or code contains it, ignoring case. offset skips that
// many matching codes; count limits the page and is -1 for no limit (0
// returns only the Total, as $expand with count=0).
//
// Errors wrap ErrUnknownValueSet when the value set is not registered,
// ErrUnavailable when it needs a code system (ErrUnknownSystem, or
// ErrExternalSystem for SNOMED CT, LOINC and the other external
// terminologies) or an imported value set the registry does not hold,
// ErrUnsupportedFilter and ErrTooCostly. A core value set whose
// definition cannot be expanded but whose published expansion the tables
// carry is answered from it, and Expansion.Precomputed says so; filter,
// offset and count apply to it as to any other.
func (r *Registry) Expand(valueSetURL, filter string, offset, count int) (Expansion, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	url, _ := splitCanonical(valueSetURL)
	e, err := r.expand(url, nil)
	if err != nil {
		return Expansion{}, err
	}
	vs := r.sets[url]
	out := Expansion{URL: vs.url, Version: vs.version, Offset: max(offset, 0)}
	if e.published != nil {
		p := e.published.Precomputed
		out.Precomputed = &p
	}
	f := strings.ToLower(filter)
	for _, c := range e.list {
		if f != "" && !strings.Contains(strings.ToLower(c.Display), f) && !strings.Contains(strings.ToLower(c.Code), f) {
			continue
		}
		if out.Total >= out.Offset && (count < 0 || len(out.Contains) < count) {
			out.Contains = append(out.Contains, c)
		}
		out.Total++
	}
	return out, nil
}

// ValidateCode reports whether the code of the system is in the value
// set with the URL, for ValueSet $validate-code (R4
// valueset-operation-validate-code). An empty system matches the code in
// any system of the value set. A non-empty display must equal the code
// system's display, ignoring case and surrounding space. Errors are those
// of Expand: a value set whose codes cannot be enumerated gives an error,
// never a guessed answer.
func (r *Registry) ValidateCode(valueSetURL, system, code, display string) (Result, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	url, _ := splitCanonical(valueSetURL)
	e, err := r.expand(url, nil)
	if err != nil {
		return Result{}, err
	}
	var i int
	var ok bool
	if system == "" {
		i, ok = e.byCode[code]
	} else {
		i, ok = e.idx[system+"|"+code]
	}
	if !ok {
		msg := fmt.Sprintf("code %q is not in value set %s", code, url)
		if system != "" {
			msg = fmt.Sprintf("code %q of system %s is not in value set %s", code, system, url)
		}
		if e.published != nil {
			msg += fmt.Sprintf(" (checked against the expansion published in %s at %s)", e.published.Source, e.published.Timestamp)
		}
		return Result{Message: msg}, nil
	}
	c := e.list[i]
	res := Result{Valid: true, Display: c.Display}
	if display != "" && c.Display != "" && !strings.EqualFold(strings.TrimSpace(display), strings.TrimSpace(c.Display)) {
		res.Valid = false
		res.Message = fmt.Sprintf("display %q is not the display of code %q, which is %q", display, code, c.Display)
	}
	return res, nil
}

// expand returns the cached complete expansion of the value set, computing
// it when needed. visiting guards against value sets that import each
// other. The caller holds r.mu for reading.
func (r *Registry) expand(url string, visiting map[string]bool) (*expanded, error) {
	r.cacheMu.Lock()
	e, ok := r.cache[url]
	r.cacheMu.Unlock()
	if ok {
		return e, nil
	}
	vs := r.sets[url]
	if vs == nil {
		return nil, fmt.Errorf("%w: %s", ErrUnknownValueSet, url)
	}
	if visiting[url] {
		return nil, fmt.Errorf("terminology: value set %s imports itself", url)
	}
	if visiting == nil {
		visiting = map[string]bool{}
	}
	visiting[url] = true
	e, err := r.compose(vs, visiting)
	delete(visiting, url)
	if err != nil {
		// The published expansion stands in only for what the
		// registry lacks; a definition that is wrong (a value set
		// importing itself) or too large still fails.
		if vs.published == nil || !errors.Is(err, ErrUnavailable) && !errors.Is(err, ErrUnsupportedFilter) {
			return nil, err
		}
		e = &expanded{idx: map[string]int{}, byCode: map[string]int{}, published: vs.published}
		for _, c := range vs.published.codes {
			k := c.System + "|" + c.Code
			if _, dup := e.idx[k]; !dup {
				e.idx[k] = len(e.list)
				e.list = append(e.list, c)
			}
		}
	}
	for i := len(e.list) - 1; i >= 0; i-- {
		e.byCode[e.list[i].Code] = i
	}
	r.cacheMu.Lock()
	r.cache[url] = e
	r.cacheMu.Unlock()
	return e, nil
}

// compose expands the definition of the value set: its compose, or for a
// registered value set without one, its expansion. The caller holds r.mu
// for reading and has marked vs in visiting.
func (r *Registry) compose(vs *valueSet, visiting map[string]bool) (*expanded, error) {
	e := &expanded{idx: map[string]int{}, byCode: map[string]int{}}
	add := func(c Contains) {
		k := c.System + "|" + c.Code
		if _, dup := e.idx[k]; dup {
			return
		}
		e.idx[k] = len(e.list)
		e.list = append(e.list, c)
	}
	if vs.include == nil && vs.exclude == nil {
		for _, c := range vs.expansion {
			add(c)
		}
	}
	for _, ru := range vs.include {
		cs, err := r.members(ru, visiting)
		if err != nil {
			return nil, fmt.Errorf("value set %s: %w", vs.url, err)
		}
		for _, c := range cs {
			add(c)
		}
		if len(e.list) > MaxExpansion {
			return nil, fmt.Errorf("%w: value set %s has more than %d codes", ErrTooCostly, vs.url, MaxExpansion)
		}
	}
	if len(vs.exclude) > 0 {
		drop := map[string]bool{}
		for _, ru := range vs.exclude {
			cs, err := r.members(ru, visiting)
			if err != nil {
				return nil, fmt.Errorf("value set %s: %w", vs.url, err)
			}
			for _, c := range cs {
				drop[c.System+"|"+c.Code] = true
			}
		}
		kept := e.list[:0]
		clear(e.idx)
		for _, c := range e.list {
			if k := c.System + "|" + c.Code; !drop[k] {
				e.idx[k] = len(kept)
				kept = append(kept, c)
			}
		}
		e.list = kept
	}
	return e, nil
}

// members returns the codes one include or exclude selects (R4
// valueset.html#compose): the listed concepts or the concepts of the
// system passing every filter (the whole system without either),
// intersected with each imported value set.
func (r *Registry) members(ru rule, visiting map[string]bool) ([]Contains, error) {
	var out []Contains
	if ru.system != "" {
		cs, csErr := r.system(ru.system)
		switch {
		case len(ru.concepts) > 0:
			for _, c := range ru.concepts {
				if csErr == nil {
					if i, ok := cs.index(c.Code); ok {
						c = cs.contains(i)
					}
				}
				out = append(out, c)
			}
		case csErr != nil:
			return nil, csErr
		default:
			keep, err := cs.filter(ru.filters)
			if err != nil {
				return nil, err
			}
			for i := range cs.concepts {
				if keep == nil || keep(i) {
					out = append(out, cs.contains(i))
				}
			}
		}
	}
	for j, u := range ru.valueSets {
		u, _ = splitCanonical(u)
		e, err := r.expand(u, visiting)
		if errors.Is(err, ErrUnknownValueSet) {
			return nil, fmt.Errorf("%w: imported value set %s", ErrUnavailable, u)
		}
		if err != nil {
			return nil, err
		}
		if j == 0 && ru.system == "" {
			out = append(out, e.list...)
			continue
		}
		kept := out[:0]
		for _, c := range out {
			if _, ok := e.idx[c.System+"|"+c.Code]; ok {
				kept = append(kept, c)
			}
		}
		out = kept
	}
	return out, nil
}

func (cs *codeSystem) contains(i int) Contains {
	c := &cs.concepts[i]
	out := Contains{System: cs.url, Version: cs.version, Code: c.code, Display: c.display}
	if v, _ := c.prop("notSelectable"); v == "true" {
		out.Abstract = true
	}
	if v, _ := c.prop("status"); v == "retired" {
		out.Inactive = true
	}
	if v, _ := c.prop("inactive"); v == "true" {
		out.Inactive = true
	}
	return out
}

// filter returns a predicate on concept positions that is true for the
// concepts passing every filter, or nil when there are none. It supports
// the R4 filter-operator codes =, is-a, descendent-of, is-not-a,
// generalizes, in, not-in, regex and exists, on the hierarchy (property
// "concept" or "code"), on "parent" and "child", and on concept
// properties.
func (cs *codeSystem) filter(fs []filter) (func(int) bool, error) {
	if len(fs) == 0 {
		return nil, nil
	}
	preds := make([]func(int) bool, 0, len(fs))
	for _, f := range fs {
		p, err := cs.predicate(f)
		if err != nil {
			return nil, fmt.Errorf("%w: %s %s %s in %s: %v", ErrUnsupportedFilter, f.property, f.op, f.value, cs.url, err)
		}
		preds = append(preds, p)
	}
	return func(i int) bool {
		for _, p := range preds {
			if !p(i) {
				return false
			}
		}
		return true
	}, nil
}

func (cs *codeSystem) predicate(f filter) (func(int) bool, error) {
	set := func(codes ...string) map[string]bool {
		m := map[string]bool{}
		for _, c := range codes {
			m[strings.TrimSpace(c)] = true
		}
		return m
	}
	var valueOf func(i int) (string, bool)
	switch f.property {
	case "concept", "code":
		j, known := cs.index(f.value)
		switch f.op {
		case "is-a", "descendent-of", "is-not-a", "generalizes":
			var s map[int]bool
			switch {
			case !known:
				s = map[int]bool{}
			case f.op == "generalizes":
				s = cs.above(j)
			default:
				s = cs.below(j)
			}
			if known && f.op != "descendent-of" {
				s[j] = true
			}
			if f.op == "is-not-a" {
				return func(i int) bool { return !s[i] }, nil
			}
			return func(i int) bool { return s[i] }, nil
		}
		valueOf = func(i int) (string, bool) { return cs.concepts[i].code, true }
	case "parent", "child":
		edges := cs.parents
		if f.property == "child" {
			edges = cs.children
		}
		if f.op != "=" && f.op != "in" {
			return nil, fmt.Errorf("operator %s on %s", f.op, f.property)
		}
		want := set(strings.Split(f.value, ",")...)
		return func(i int) bool {
			for _, j := range edges[i] {
				if want[cs.concepts[j].code] {
					return true
				}
			}
			return false
		}, nil
	default:
		valueOf = func(i int) (string, bool) { return cs.concepts[i].prop(f.property) }
	}
	switch f.op {
	case "=":
		return func(i int) bool { v, ok := valueOf(i); return ok && v == f.value }, nil
	case "in", "not-in":
		want := set(strings.Split(f.value, ",")...)
		in := f.op == "in"
		return func(i int) bool { v, ok := valueOf(i); return ok && want[v] == in }, nil
	case "regex":
		re, err := regexp.Compile("^(?:" + f.value + ")$")
		if err != nil {
			return nil, err
		}
		return func(i int) bool { v, ok := valueOf(i); return ok && re.MatchString(v) }, nil
	case "exists":
		want := f.value == "true"
		return func(i int) bool { _, ok := valueOf(i); return ok == want }, nil
	}
	return nil, fmt.Errorf("operator %s", f.op)
}
