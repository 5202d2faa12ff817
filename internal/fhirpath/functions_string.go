package fhirpath

import (
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"
)

// String functions, http://hl7.org/fhirpath/N1/#string-manipulation. Each
// takes a single string input; empty input gives empty output. Positions
// and lengths count characters, not bytes.
var stringFunctions = map[string]fnDef{
	"indexOf": {1, 1, strFn(func(c *env, n *callNode, s string) ([]Item, error) {
		sub, ok, err := c.stringArg(n, 0)
		if !ok {
			return nil, err
		}
		i := strings.Index(s, sub)
		if i > 0 {
			i = utf8.RuneCountInString(s[:i])
		}
		return []Item{sysItem(int64(i))}, nil
	}), false},
	"substring": {1, 2, strFn(func(c *env, n *callNode, s string) ([]Item, error) {
		start, ok, err := c.intArg(n, 0)
		if !ok {
			return nil, err
		}
		r := []rune(s)
		if start < 0 || start >= int64(len(r)) {
			return nil, nil
		}
		end := int64(len(r))
		if len(n.args) == 2 {
			l, ok, err := c.intArg(n, 1)
			if err != nil {
				return nil, err
			}
			if ok {
				end = min(end, start+max(l, 0))
			}
		}
		return []Item{sysItem(string(r[start:end]))}, nil
	}), false},
	"startsWith": {1, 1, strPred(strings.HasPrefix), false},
	"endsWith":   {1, 1, strPred(strings.HasSuffix), false},
	"contains":   {1, 1, strPred(strings.Contains), false},
	"upper": {0, 0, strFn(func(c *env, n *callNode, s string) ([]Item, error) {
		return []Item{sysItem(strings.ToUpper(s))}, nil
	}), false},
	"lower": {0, 0, strFn(func(c *env, n *callNode, s string) ([]Item, error) {
		return []Item{sysItem(strings.ToLower(s))}, nil
	}), false},
	"replace": {2, 2, strFn(func(c *env, n *callNode, s string) ([]Item, error) {
		pat, ok1, err := c.stringArg(n, 0)
		if err != nil {
			return nil, err
		}
		rep, ok2, err := c.stringArg(n, 1)
		if !ok1 || !ok2 {
			return nil, err
		}
		return []Item{sysItem(strings.ReplaceAll(s, pat, rep))}, nil
	}), false},
	"matches": {1, 1, strFn(func(c *env, n *callNode, s string) ([]Item, error) {
		re, ok, err := c.regexArg(n, 0, false)
		if !ok {
			return nil, err
		}
		return boolItems(re.MatchString(s)), nil
	}), false},
	"matchesFull": {1, 1, strFn(func(c *env, n *callNode, s string) ([]Item, error) {
		re, ok, err := c.regexArg(n, 0, true)
		if !ok {
			return nil, err
		}
		return boolItems(re.MatchString(s)), nil
	}), false},
	"replaceMatches": {2, 2, strFn(func(c *env, n *callNode, s string) ([]Item, error) {
		re, ok1, err := c.regexArg(n, 0, false)
		if err != nil {
			return nil, err
		}
		rep, ok2, err := c.stringArg(n, 1)
		if !ok1 || !ok2 {
			return nil, err
		}
		if re.String() == "(?s:)" {
			// An empty pattern leaves the input unchanged (official suite,
			// testReplaceMatches2) rather than matching between characters.
			return []Item{sysItem(s)}, nil
		}
		return []Item{sysItem(re.ReplaceAllString(s, rep))}, nil
	}), false},
	"length": {0, 0, strFn(func(c *env, n *callNode, s string) ([]Item, error) {
		return []Item{sysItem(int64(utf8.RuneCountInString(s)))}, nil
	}), false},
	"toChars": {0, 0, strFn(func(c *env, n *callNode, s string) ([]Item, error) {
		out := make([]Item, 0, len(s))
		for _, r := range s {
			out = append(out, sysItem(string(r)))
		}
		return out, nil
	}), false},
}

func strFn(f func(c *env, n *callNode, s string) ([]Item, error)) fnImpl {
	return func(c *env, n *callNode, focus []Item) ([]Item, error) {
		it, ok, err := singleInput(n, focus)
		if !ok {
			return nil, err
		}
		v, k := sysValue(it)
		if k != kindString {
			return nil, evalErr("%s() needs a string input", n.name)
		}
		return f(c, n, v.(string))
	}
}

func strPred(p func(s, arg string) bool) fnImpl {
	return strFn(func(c *env, n *callNode, s string) ([]Item, error) {
		a, ok, err := c.stringArg(n, 0)
		if !ok {
			return nil, err
		}
		return boolItems(p(s, a)), nil
	})
}

var regexCache sync.Map // pattern -> *regexp.Regexp

// regexArg compiles a pattern argument. matches() finds the pattern
// anywhere in the input, as in the R4 suite (testMatchesWithinUrl2);
// matchesFull() (FHIRPath 3.0) must match the whole input. Patterns are
// cached because the same constraint runs against every resource.
func (c *env) regexArg(n *callNode, i int, anchored bool) (*regexp.Regexp, bool, error) {
	pat, ok, err := c.stringArg(n, i)
	if !ok {
		return nil, false, err
	}
	key := "(?s:" + pat + ")"
	if anchored {
		key = "^(?s:" + pat + ")$"
	}
	if re, ok := regexCache.Load(key); ok {
		return re.(*regexp.Regexp), true, nil
	}
	re, err := regexp.Compile(key)
	if err != nil {
		return nil, false, evalErr("bad regular expression %q: %v", pat, err)
	}
	regexCache.Store(key, re)
	return re, true, nil
}
