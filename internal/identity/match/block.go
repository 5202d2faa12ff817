package match

import (
	"strconv"
	"strings"
)

// Block is one candidate search ("blocking" in record-linkage terms): only
// patients found by at least one of a query's blocks are scored, so a
// match costs a few indexed searches rather than a scan. Exactly one
// kind of field is set.
type Block struct {
	// NHS: patients with this NHS number.
	NHS string
	// BirthDate: patients born on this day (YYYY-MM-DD).
	BirthDate string
	// FamilyPrefix with BirthYearFrom..BirthYearTo: patients whose family
	// name starts with the prefix (folded) born in those years.
	FamilyPrefix               string
	BirthYearFrom, BirthYearTo int
}

// FamilyPrefixLen is how many letters of the family name the name block
// uses. Two letters, not one, keep blocks small in a large population;
// a slip in the first two letters is caught by the birth date blocks.
const FamilyPrefixLen = 2

// Blocks returns the candidate searches for query q: its NHS numbers; its
// birth date, and the date with day and month swapped (the commonest
// birth date slip); and its family name prefix within a year either side
// of the birth year (a slip in the year) or at any age when the birth
// date is unknown.
func Blocks(q *Patient) []Block {
	var out []Block
	for _, n := range q.NHS {
		out = append(out, Block{NHS: n})
	}
	if q.BirthDate != "" {
		out = append(out, Block{BirthDate: q.BirthDate})
		y, m, d := q.BirthDate[:4], q.BirthDate[5:7], q.BirthDate[8:10]
		if dm, _ := strconv.Atoi(d); dm <= 12 && m != d {
			out = append(out, Block{BirthDate: y + "-" + d + "-" + m})
		}
	}
	seen := map[string]bool{}
	for _, f := range q.Family {
		first, _, _ := strings.Cut(f, " ")
		rs := []rune(first)
		if len(rs) > FamilyPrefixLen {
			rs = rs[:FamilyPrefixLen]
		}
		prefix := string(rs)
		if prefix == "" || seen[prefix] {
			continue
		}
		seen[prefix] = true
		b := Block{FamilyPrefix: prefix}
		if q.BirthDate != "" {
			y, _ := strconv.Atoi(q.BirthDate[:4])
			b.BirthYearFrom, b.BirthYearTo = y-1, y+1
		}
		out = append(out, b)
	}
	return out
}

// Matches reports whether candidate c falls in block b, for callers that
// block in memory rather than by search (the quality tests).
func (b Block) Matches(c *Patient) bool {
	switch {
	case b.NHS != "":
		for _, n := range c.NHS {
			if n == b.NHS {
				return true
			}
		}
		return false
	case b.BirthDate != "":
		return c.BirthDate == b.BirthDate
	case b.FamilyPrefix != "":
		if b.BirthYearFrom != 0 {
			if c.BirthDate == "" {
				return false
			}
			y, _ := strconv.Atoi(c.BirthDate[:4])
			if y < b.BirthYearFrom || y > b.BirthYearTo {
				return false
			}
		}
		for _, f := range c.Family {
			if strings.HasPrefix(f, b.FamilyPrefix) {
				return true
			}
		}
	}
	return false
}
