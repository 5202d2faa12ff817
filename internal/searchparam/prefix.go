package searchparam

// Prefix is a search comparator (R4 search.html 3.1.1.4.1, prefixes).
type Prefix string

// The prefixes of R4. The empty prefix means PrefixEq.
const (
	PrefixEq Prefix = "eq"
	PrefixNe Prefix = "ne"
	PrefixGt Prefix = "gt"
	PrefixLt Prefix = "lt"
	PrefixGe Prefix = "ge"
	PrefixLe Prefix = "le"
	PrefixSa Prefix = "sa"
	PrefixEb Prefix = "eb"
	PrefixAp Prefix = "ap"
)

// splitPrefix takes a two-letter prefix off v when one is present. The
// spec allows prefixes on number, date and quantity values only; a value
// of those types never starts with a letter otherwise, so any leading
// letters that are not a prefix make the value malformed, which the
// type's parser reports.
func splitPrefix(v string) (Prefix, string) {
	if len(v) >= 2 {
		switch p := Prefix(v[:2]); p {
		case PrefixEq, PrefixNe, PrefixGt, PrefixLt, PrefixGe, PrefixLe, PrefixSa, PrefixEb, PrefixAp:
			return p, v[2:]
		}
	}
	return PrefixEq, v
}

// Unbounded ends of a range; every finite value lies strictly between them.
const (
	MinInt64 = -1 << 63
	MaxInt64 = 1<<63 - 1
)
