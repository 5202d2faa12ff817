package searchparam

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// Range is a half-open interval [Low, High) of microseconds since the Unix
// epoch. R4 search.html (3.1.1.4.6, date) treats every date, dateTime,
// instant and Period as such an interval: a value stands for the whole span
// of its precision ("2013-01" is all of January 2013), and a Period with no
// start or no end is open on that side (MinInt64 / MaxInt64).
type Range struct {
	Low, High int64
}

// Location is the server time zone, applied to date-only values and to
// times written without an offset (R4 search.html 3.1.1.4.6: "where the
// value has no time zone, the server's time zone is assumed"). Junction
// runs on UTC everywhere so results do not depend on the host's setting.
var Location = time.UTC

var dateRE = regexp.MustCompile(`^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$`)

// ParseDate parses a FHIR date, dateTime or instant (or the minute
// precision "YYYY-MM-DDThh:mm" that search values may use) into the range
// it denotes.
func ParseDate(s string) (Range, error) {
	m := dateRE.FindStringSubmatch(s)
	if m == nil {
		return Range{}, fmt.Errorf("%q is not a valid date, dateTime or instant", s)
	}
	num := func(i int) int { n, _ := strconv.Atoi(m[i]); return n }
	year, month, day := num(1), 1, 1
	if m[2] != "" {
		month = num(2)
		if month < 1 || month > 12 {
			return Range{}, fmt.Errorf("%q has month %d out of range", s, month)
		}
	}
	if m[3] != "" {
		day = num(3)
		if day < 1 || day > daysIn(year, time.Month(month)) {
			return Range{}, fmt.Errorf("%q has day %d out of range", s, day)
		}
	}
	loc := Location
	if m[8] != "" && m[8] != "Z" {
		h, _ := strconv.Atoi(m[8][1:3])
		mi, _ := strconv.Atoi(m[8][4:6])
		if h > 14 || mi > 59 {
			return Range{}, fmt.Errorf("%q has an invalid time zone offset", s)
		}
		off := (h*60 + mi) * 60
		if m[8][0] == '-' {
			off = -off
		}
		loc = time.FixedZone("", off)
	} else if m[8] == "Z" {
		loc = time.UTC
	}
	hour, minute, sec, frac := 0, 0, 0, 0
	if m[4] != "" {
		hour, minute = num(4), num(5)
		if hour > 23 || minute > 59 {
			return Range{}, fmt.Errorf("%q has a time out of range", s)
		}
	}
	if m[6] != "" {
		sec = num(6)
		if sec > 59 {
			return Range{}, fmt.Errorf("%q has seconds out of range", s)
		}
	}
	// The span of the value's precision, in microseconds; fractions finer
	// than a microsecond are kept to the microsecond that contains them.
	var span int64
	fd := m[7]
	if len(fd) > 6 {
		fd = fd[:6]
	}
	if fd != "" {
		frac, _ = strconv.Atoi(fd)
		span = 1
		for i := len(fd); i < 6; i++ {
			frac *= 10
			span *= 10
		}
	}
	start := time.Date(year, time.Month(month), day, hour, minute, sec, frac*1000, loc)
	var end time.Time
	switch {
	case m[7] != "":
		end = start.Add(time.Duration(span) * time.Microsecond)
	case m[6] != "":
		end = start.Add(time.Second)
	case m[4] != "":
		end = start.Add(time.Minute)
	case m[3] != "":
		end = start.AddDate(0, 0, 1)
	case m[2] != "":
		end = start.AddDate(0, 1, 0)
	default:
		end = start.AddDate(1, 0, 0)
	}
	return Range{start.UnixMicro(), end.UnixMicro()}, nil
}

func daysIn(year int, month time.Month) int {
	return time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// PeriodRange is the range of a Period: from the start of start's range to
// the end of end's range, open where an end is absent (R4 search.html
// 3.1.1.4.6: "a Period with no end is ongoing").
func PeriodRange(start, end string) (Range, error) {
	r := Range{MinInt64, MaxInt64}
	if start != "" {
		s, err := ParseDate(start)
		if err != nil {
			return Range{}, err
		}
		r.Low = s.Low
	}
	if end != "" {
		e, err := ParseDate(end)
		if err != nil {
			return Range{}, err
		}
		r.High = e.High
	}
	return r, nil
}

// MatchRange reports whether a target range (from a resource) satisfies
// the search range under prefix p, with the range semantics of R4
// search.html 3.1.1.4.1:
//
//	eq  the search range fully contains the target range
//	ne  it does not
//	gt  the range above the search value overlaps the target
//	lt  the range below the search value overlaps the target
//	ge  gt or eq;  le  lt or eq
//	sa  the target starts at or after the end of the search range
//	eb  the target ends at or before the start of the search range
//	ap  the target overlaps approx, the search range widened (see Approx)
//
// The SQL planner implements the same predicates; this function is their
// reference.
func MatchRange(p Prefix, search, approx, target Range) bool {
	eq := search.Low <= target.Low && target.High <= search.High
	switch p {
	case PrefixEq:
		return eq
	case PrefixNe:
		return !eq
	case PrefixGt:
		return target.High > search.High
	case PrefixLt:
		return target.Low < search.Low
	case PrefixGe:
		return eq || target.High > search.High
	case PrefixLe:
		return eq || target.Low < search.Low
	case PrefixSa:
		return target.Low >= search.High
	case PrefixEb:
		return target.High <= search.Low
	case PrefixAp:
		return target.Low < approx.High && approx.Low < target.High
	}
	return false
}

// ApproxDate widens r by a tenth of the distance between now and r, the
// recommendation of R4 search.html 3.1.1.4.1 for ap on dates; a range that
// contains now is widened by a tenth of its own length so ap is never
// narrower than eq.
func ApproxDate(r Range, now time.Time) Range {
	n := now.UnixMicro()
	var gap int64
	switch {
	case n < r.Low:
		gap = r.Low - n
	case n >= r.High:
		gap = n - r.High
	default:
		gap = r.High - r.Low
	}
	d := gap / 10
	out := r
	if out.Low > MinInt64+d {
		out.Low -= d
	}
	if out.High < MaxInt64-d {
		out.High += d
	}
	return out
}
