package authn

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Scope is one SMART scope (SMART App Launch 2.x, "Scopes and Launch
// Context"). A resource scope has Context patient, user or system, a
// resource Type (or "*"), and Perms, a subset of "cruds" in that order;
// version 1 scopes (.read, .write, .*) are read into the same form with V1
// set. Any other accepted scope (openid, fhirUser, launch, ...) has only
// Raw.
type Scope struct {
	Raw     string
	Context string // patient | user | system; "" for a non-resource scope
	Type    string // a resource type or "*"
	Perms   string // subset of "cruds", canonical order
	Query   string // v2 finer-grained constraint after '?', e.g. "category=laboratory"
	V1      bool
}

// identityScopes are the non-resource scopes this server understands.
var identityScopes = map[string]bool{
	"openid": true, "fhirUser": true, "profile": true,
	"launch": true, "launch/patient": true, "launch/encounter": true,
	"offline_access": true, "online_access": true,
}

var resourceTypeRE = regexp.MustCompile(`^(\*|[A-Z][A-Za-z]{0,63})$`)

// ParseScope reads one scope. It refuses anything that is neither a known
// non-resource scope nor a well-formed v1 or v2 resource scope.
func ParseScope(s string) (Scope, error) {
	if identityScopes[s] {
		return Scope{Raw: s}, nil
	}
	ctx, rest, ok := strings.Cut(s, "/")
	if !ok || (ctx != "patient" && ctx != "user" && ctx != "system") {
		return Scope{}, fmt.Errorf("unknown scope %q", s)
	}
	rest, query, hasQuery := strings.Cut(rest, "?")
	typ, perms, ok := strings.Cut(rest, ".")
	if !ok || !resourceTypeRE.MatchString(typ) {
		return Scope{}, fmt.Errorf("scope %q: expected %s/Type.permissions", s, ctx)
	}
	sc := Scope{Raw: s, Context: ctx, Type: typ}
	switch perms {
	case "read":
		sc.Perms, sc.V1 = "rs", true
	case "write":
		sc.Perms, sc.V1 = "cud", true
	case "*":
		sc.Perms, sc.V1 = "cruds", true
	default:
		// v2: each of c, r, u, d, s at most once, in that order.
		i := 0
		for _, ch := range perms {
			j := strings.IndexRune("cruds"[i:], ch)
			if j < 0 {
				return Scope{}, fmt.Errorf("scope %q: permissions must be a subset of cruds in that order", s)
			}
			i += j + 1
		}
		if perms == "" {
			return Scope{}, fmt.Errorf("scope %q: no permissions", s)
		}
		sc.Perms = perms
	}
	if hasQuery {
		if sc.V1 {
			return Scope{}, fmt.Errorf("scope %q: a v1 scope takes no query", s)
		}
		v, err := url.ParseQuery(query)
		if err != nil || len(v) == 0 {
			return Scope{}, fmt.Errorf("scope %q: malformed query", s)
		}
		sc.Query = query
	}
	return sc, nil
}

// String writes the scope, in v1 syntax when it was read from v1 and its
// permissions still have a v1 spelling, otherwise in v2 syntax.
func (s Scope) String() string {
	if s.Context == "" {
		return s.Raw
	}
	if s.V1 && s.Query == "" {
		switch s.Perms {
		case "rs":
			return s.Context + "/" + s.Type + ".read"
		case "cud":
			return s.Context + "/" + s.Type + ".write"
		case "cruds":
			return s.Context + "/" + s.Type + ".*"
		}
	}
	out := s.Context + "/" + s.Type + "." + s.Perms
	if s.Query != "" {
		out += "?" + s.Query
	}
	return out
}

// intersect returns what both a requested and a registered scope allow,
// or false when they share nothing.
func intersect(req, reg Scope) (Scope, bool) {
	if req.Context == "" || req.Context != reg.Context {
		return Scope{}, false
	}
	out := Scope{Context: req.Context, V1: req.V1}
	switch {
	case req.Type == reg.Type || reg.Type == "*":
		out.Type = req.Type
	case req.Type == "*":
		out.Type = reg.Type
	default:
		return Scope{}, false
	}
	for _, c := range "cruds" {
		if strings.ContainsRune(req.Perms, c) && strings.ContainsRune(reg.Perms, c) {
			out.Perms += string(c)
		}
	}
	if out.Perms == "" {
		return Scope{}, false
	}
	switch {
	case req.Query != "" && reg.Query != "" && req.Query != reg.Query:
		// Two different constraints cannot be written as one scope.
		return Scope{}, false
	case req.Query != "":
		out.Query = req.Query
	default:
		out.Query = reg.Query
	}
	out.Raw = out.String()
	return out, true
}

// grantScopes returns the scopes of requested (space-separated) that the
// registered scopes allow: a non-resource scope when it is registered,
// and for a resource scope its intersection with each registered one, so
// a client is never granted more than it was registered with. contexts
// limits resource scopes to the given contexts (e.g. only system/ for
// client_credentials). Unknown and malformed scopes are dropped, as RFC
// 6749 section 3.3 lets a server do; the response's scope says what was
// granted.
func grantScopes(requested string, registered []string, contexts ...string) []string {
	var regs []Scope
	for _, r := range registered {
		if sc, err := ParseScope(r); err == nil {
			regs = append(regs, sc)
		}
	}
	var out []string
	add := func(s string) {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	for _, r := range strings.Fields(requested) {
		req, err := ParseScope(r)
		if err != nil {
			continue
		}
		if req.Context == "" {
			if slices.Contains(registered, req.Raw) {
				add(req.Raw)
			}
			continue
		}
		if !slices.Contains(contexts, req.Context) {
			continue
		}
		for _, reg := range regs {
			if sc, ok := intersect(req, reg); ok {
				add(sc.String())
			}
		}
	}
	return out
}

// hasScope reports whether granted contains s exactly.
func hasScope(granted []string, s string) bool { return slices.Contains(granted, s) }

// hasContext reports whether granted holds a resource scope in context c.
func hasContext(granted []string, c string) bool {
	for _, g := range granted {
		if strings.HasPrefix(g, c+"/") {
			return true
		}
	}
	return false
}

// withoutContext returns granted less its resource scopes in context c.
func withoutContext(granted []string, c string) []string {
	var out []string
	for _, g := range granted {
		if !strings.HasPrefix(g, c+"/") {
			out = append(out, g)
		}
	}
	return out
}

// checkScopes validates a registration's scope list: every scope must
// parse.
func checkScopes(scopes []string) error {
	if len(scopes) == 0 {
		return fmt.Errorf("at least one scope is required")
	}
	for _, s := range scopes {
		if _, err := ParseScope(s); err != nil {
			return err
		}
	}
	return nil
}
