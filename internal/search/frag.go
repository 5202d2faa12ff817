package search

import "strings"

// frag is a piece of SQL with '?' placeholders and the arguments for them,
// in order. Building every statement from frags keeps each argument next
// to its placeholder, however the pieces are nested.
type frag struct {
	sql  string
	args []any
}

func f(sql string, args ...any) frag { return frag{sql, args} }

// join concatenates parts with sep between them.
func join(sep string, parts ...frag) frag {
	var b strings.Builder
	var args []any
	for i, p := range parts {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(p.sql)
		args = append(args, p.args...)
	}
	return frag{b.String(), args}
}

// wrap returns prefix + x + suffix.
func wrap(prefix string, x frag, suffix string) frag {
	return frag{prefix + x.sql + suffix, x.args}
}

func and(parts ...frag) frag {
	if len(parts) == 0 {
		return f("1=1")
	}
	return wrap("(", join(" AND ", parts...), ")")
}

// orGroup is the most terms or joins flat. SQLite refuses an expression
// tree deeper than 1,000 (SQLITE_MAX_EXPR_DEPTH), and "a OR b OR c ..."
// parses as a chain as deep as it is long; a long list (the codes of a
// value set for :in, the page's resources for _revinclude) is nested in
// groups instead, as deep as the logarithm of its length.
const orGroup = 32

func or(parts ...frag) frag {
	if len(parts) == 0 {
		return f("1=0")
	}
	if len(parts) > orGroup {
		var groups []frag
		for i := 0; i < len(parts); i += orGroup {
			groups = append(groups, or(parts[i:min(i+orGroup, len(parts))]...))
		}
		return or(groups...)
	}
	return wrap("(", join(" OR ", parts...), ")")
}

// in renders col IN (?, ?, ...) for vals.
func in(col string, vals []string) frag {
	switch len(vals) {
	case 0:
		// No restriction: a system-level search over every type.
		return f("1=1")
	case 1:
		return f(col+" = ?", vals[0])
	}
	args := make([]any, len(vals))
	for i, v := range vals {
		args[i] = v
	}
	return frag{col + " IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(vals)), ", ") + ")", args}
}

// likeEscape escapes s for LIKE ... ESCAPE '\'.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// prefixEnd returns the smallest string greater than every string that
// starts with s, for a range scan that an index can serve: s with its
// last rune incremented. ok is false when no such string exists (s empty
// or ending in U+10FFFF).
func prefixEnd(s string) (string, bool) {
	r := []rune(s)
	for len(r) > 0 {
		last := r[len(r)-1]
		switch {
		case last == 0x10FFFF:
			r = r[:len(r)-1]
			continue
		case last == 0xD7FF:
			r[len(r)-1] = 0xE000 // skip the surrogates, which UTF-8 cannot hold
		default:
			r[len(r)-1] = last + 1
		}
		return string(r), true
	}
	return "", false
}
