package access

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/nhs-junction/junction/internal/fhir/spec"
	"github.com/nhs-junction/junction/internal/searchparam"
)

// Context is the first part of a SMART clinical scope: whose data it
// grants (SMART App Launch 2.x, "Scopes for requesting clinical data").
type Context string

// Scope contexts.
const (
	// PatientContext grants data in the compartment of the patient in
	// context (Caller.Patients).
	PatientContext Context = "patient"
	// UserContext grants data the user may see under their own
	// permissions.
	UserContext Context = "user"
	// SystemContext grants data a client system may see under its
	// pre-configured policy (SMART Backend Services).
	SystemContext Context = "system"
)

// Perm is a set of the SMART v2 interaction permissions c, r, u, d, s.
type Perm uint8

// The SMART v2 permissions. The SMART App Launch 2.x scopes page maps
// each to FHIR interactions: c create; r read, vread and instance
// history; u update and patch; d delete; s type and system search and
// type and system history.
const (
	PermCreate Perm = 1 << iota
	PermRead
	PermUpdate
	PermDelete
	PermSearch
)

// PermAll is ".cruds".
const PermAll = PermCreate | PermRead | PermUpdate | PermDelete | PermSearch

// String renders p in the order of ".cruds".
func (p Perm) String() string {
	var b strings.Builder
	for i, c := range "cruds" {
		if p&(1<<i) != 0 {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// TokenValue is one value of a token restriction: [system|]code. A
// value without '|' matches the code in any system; "system|code"
// matches only that system (R4 search.html 3.1.1.4.8).
type TokenValue struct {
	System    string
	Code      string
	HasSystem bool
}

// Restriction is one "param=value" of a scope's query suffix: the
// resource must carry one of Values under the token search parameter
// Param. Several values (comma-separated) are alternatives.
type Restriction struct {
	Param  string
	Values []TokenValue
}

// Scope is one SMART clinical scope.
type Scope struct {
	Context Context
	// Type is a resource type or "*" for every type.
	Type  string
	Perms Perm
	// Restrict, when not empty, limits the scope to resources matching
	// every restriction (SMART 2.x "Finer-grained resource constraints
	// using search parameters").
	Restrict []Restriction
	// Raw is the scope as written.
	Raw string
}

// Scopes are the clinical scopes of a token.
type Scopes []Scope

// nonResource are the scopes that grant no data: identity, launch
// context and refresh token scopes (SMART App Launch 2.x).
func nonResource(s string) bool {
	switch s {
	case "openid", "fhirUser", "profile", "launch", "offline_access", "online_access":
		return true
	}
	return strings.HasPrefix(s, "launch/")
}

// MaxScopeLen bounds one scope string; a longer one is refused rather
// than parsed (SMART 2.x "Scope size over the wire").
const MaxScopeLen = 2048

// ParseScopes parses granted scopes. Each element may hold one scope or
// several separated by spaces (the OAuth scope parameter). Identity,
// launch-context and refresh scopes are recognised and skipped; any other
// scope must be a well-formed SMART v1 or v2 clinical scope, or
// ParseScopes fails: a token carrying a scope this server cannot enforce
// exactly must not be half-honoured. v1 suffixes map to v2 as the
// specification says: .read is .rs, .write is .cud, .* is .cruds.
func ParseScopes(raw []string) (Scopes, error) {
	var out Scopes
	for _, r := range raw {
		for _, s := range strings.Fields(r) {
			if nonResource(s) {
				continue
			}
			sc, err := parseScope(s)
			if err != nil {
				return nil, err
			}
			out = append(out, sc)
		}
	}
	return out, nil
}

func parseScope(s string) (Scope, error) {
	bad := func(why string) (Scope, error) {
		if len(s) > 80 {
			s = s[:80] + "..."
		}
		return Scope{}, fmt.Errorf("access: scope %q: %s", s, why)
	}
	if len(s) > MaxScopeLen {
		return bad("too long")
	}
	sc := Scope{Raw: s}
	ctx, rest, ok := strings.Cut(s, "/")
	if !ok {
		return bad("not a clinical scope (context/Type.permissions)")
	}
	switch Context(ctx) {
	case PatientContext, UserContext, SystemContext:
		sc.Context = Context(ctx)
	default:
		return bad("context must be patient, user or system")
	}
	rest, query, hasQuery := strings.Cut(rest, "?")
	typ, perms, ok := strings.Cut(rest, ".")
	if !ok {
		return bad("missing '.' and permissions")
	}
	if typ != "*" && !spec.IsResourceType(typ) {
		return bad(fmt.Sprintf("%q is not an R4 resource type", typ))
	}
	sc.Type = typ
	switch perms {
	case "read":
		sc.Perms = PermRead | PermSearch
	case "write":
		sc.Perms = PermCreate | PermUpdate | PermDelete
	case "*":
		sc.Perms = PermAll
	default:
		// A subset of "cruds" in that order, each letter once; anything
		// else (".dus", ".rr") is undefined and refused.
		last := -1
		for _, c := range perms {
			i := strings.IndexRune("cruds", c)
			if i < 0 || i <= last {
				return bad("permissions must be .read, .write, .* or an in-order subset of .cruds")
			}
			last = i
			sc.Perms |= 1 << i
		}
		if sc.Perms == 0 {
			return bad("no permissions")
		}
	}
	if hasQuery {
		if perms == "read" || perms == "write" || perms == "*" {
			return bad("v1 scopes take no search restrictions")
		}
		r, err := parseRestrictions(typ, query)
		if err != nil {
			return bad(err.Error())
		}
		sc.Restrict = r
	}
	return sc, nil
}

// parseRestrictions parses the query suffix of a scope. Only token
// parameters without modifiers are enforced (category=, code=, and any
// other token parameter of the type); chains, modifiers and _filter,
// which SMART 2.x calls experimental, are refused.
func parseRestrictions(typ, query string) ([]Restriction, error) {
	if query == "" {
		return nil, fmt.Errorf("empty search restriction")
	}
	var out []Restriction
	for _, part := range strings.Split(query, "&") {
		name, val, ok := strings.Cut(part, "=")
		if !ok || name == "" || val == "" {
			return nil, fmt.Errorf("restriction %q is not param=value", part)
		}
		if strings.ContainsAny(name, ":.") {
			return nil, fmt.Errorf("restriction %q: modifiers and chains are not supported", part)
		}
		if typ != "*" {
			d, ok := searchparam.R4().Lookup(typ, name)
			if !ok || d.Kind != searchparam.KindToken {
				return nil, fmt.Errorf("restriction %q: %s has no token search parameter %q", part, typ, name)
			}
		} else if !isTokenParamAnywhere(name) {
			return nil, fmt.Errorf("restriction %q: no resource type has a token search parameter %q", part, name)
		}
		r := Restriction{Param: name}
		for _, v := range splitUnescaped(val, ',') {
			v, err := url.QueryUnescape(v)
			if err != nil {
				return nil, fmt.Errorf("restriction %q: %v", part, err)
			}
			var tv TokenValue
			if sys, code, ok := cutUnescaped(v, '|'); ok {
				tv = TokenValue{System: unescapeToken(sys), Code: unescapeToken(code), HasSystem: true}
			} else {
				tv = TokenValue{Code: unescapeToken(v)}
			}
			if tv.Code == "" {
				return nil, fmt.Errorf("restriction %q: a value needs a code", part)
			}
			r.Values = append(r.Values, tv)
		}
		out = append(out, r)
	}
	return out, nil
}

func isTokenParamAnywhere(name string) bool {
	for _, t := range spec.ResourceTypes() {
		if d, ok := searchparam.R4().Lookup(t, name); ok && d.Kind == searchparam.KindToken {
			return true
		}
	}
	return false
}

// splitUnescaped splits s at sep not preceded by a backslash (R4
// search.html 3.1.1.4.9 escaping).
func splitUnescaped(s string, sep byte) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			continue
		}
		if s[i] == sep {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func cutUnescaped(s string, sep byte) (string, string, bool) {
	parts := splitUnescaped(s, sep)
	if len(parts) == 1 {
		return s, "", false
	}
	return parts[0], strings.Join(parts[1:], string(sep)), true
}

func unescapeToken(s string) string {
	return strings.NewReplacer(`\,`, `,`, `\|`, `|`, `\$`, `$`, `\\`, `\`).Replace(s)
}

// Granting returns the scopes that grant any permission of want on
// resource type typ, in contexts the caller kind may use: user scopes
// for people, system scopes for system clients, patient scopes for
// both people and systems (a patient scope always keeps the caller in
// the compartments of Caller.Patients).
func (ss Scopes) Granting(kind Kind, want Perm, typ string) []Scope {
	var out []Scope
	for _, s := range ss {
		if s.Perms&want == 0 || (s.Type != "*" && s.Type != typ) {
			continue
		}
		if !contextFits(kind, s.Context) {
			continue
		}
		out = append(out, s)
	}
	return out
}

// Allows reports whether some scope grants a permission of want on typ
// to a caller of kind, ignoring restrictions and context (the filter
// applies those to each resource).
func (ss Scopes) Allows(kind Kind, want Perm, typ string) bool {
	return len(ss.Granting(kind, want, typ)) > 0
}

func contextFits(kind Kind, c Context) bool {
	switch c {
	case PatientContext:
		return true
	case UserContext:
		return kind != System
	case SystemContext:
		return kind == System
	}
	return false
}
