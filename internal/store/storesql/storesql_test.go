package storesql

import (
	"slices"
	"testing"
	"time"
)

func TestRebind(t *testing.T) {
	tests := []struct{ in, sqlite, postgres string }{
		{"a = ?", "a = ?", "a = $1"},
		{"a = ? AND b IN (?, ?)", "a = ? AND b IN (?, ?)", "a = $1 AND b IN ($2, $3)"},
		{"a = '?' AND b = ?", "a = '?' AND b = ?", "a = '?' AND b = $1"},
		{`"we?ird" = ? AND c = 'it''s ?'`, `"we?ird" = ? AND c = 'it''s ?'`, `"we?ird" = $1 AND c = 'it''s ?'`},
		{"no placeholders", "no placeholders", "no placeholders"},
	}
	for _, tt := range tests {
		if got := Rebind(SQLite, tt.in); got != tt.sqlite {
			t.Errorf("Rebind(SQLite, %q) = %q, want %q", tt.in, got, tt.sqlite)
		}
		if got := Rebind(Postgres, tt.in); got != tt.postgres {
			t.Errorf("Rebind(Postgres, %q) = %q, want %q", tt.in, got, tt.postgres)
		}
	}
}

func TestSelectWhereOnlyNarrows(t *testing.T) {
	s := &Select{Columns: "v.seq", From: "resource_version v", OrderBy: "v.seq DESC", Limit: 3}
	s.Where("v.type = ?", "Patient")
	c := s.Clone()
	// An access filter with OR stays inside its parentheses.
	s.Where("v.id = ? OR v.id = ?", "a", "b")
	got, args := s.SQL(Postgres)
	want := "SELECT v.seq FROM resource_version v WHERE (v.type = $1) AND (v.id = $2 OR v.id = $3) ORDER BY v.seq DESC LIMIT 3"
	if got != want || !slices.Equal(args, []any{"Patient", "a", "b"}) {
		t.Errorf("SQL = %q %v\nwant %q", got, args, want)
	}
	if got, args := c.SQL(SQLite); got != "SELECT v.seq FROM resource_version v WHERE (v.type = ?) ORDER BY v.seq DESC LIMIT 3" || len(args) != 1 {
		t.Errorf("clone changed by the original's Where: %q %v", got, args)
	}
}

func TestClockNeverGoesBack(t *testing.T) {
	wall := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	c := Clock{Wall: func() time.Time { return wall }}
	a := c.Next(0)
	wall = wall.Add(-time.Hour) // the wall clock is stepped back
	b := c.Next(0)
	if b != a+1 {
		t.Errorf("after the wall clock went back: %d then %d, want last+1µs", a, b)
	}
	floor := wall.Add(2 * time.Hour).UnixMicro() // another process wrote later
	if got := c.Next(floor); got != floor+1 {
		t.Errorf("Next(floor) = %d, want floor+1 = %d", got, floor+1)
	}
	wall = wall.Add(3 * time.Hour)
	if got := c.Next(0); got != wall.UnixMicro() {
		t.Errorf("Next once the wall clock is ahead = %d, want the wall clock %d", got, wall.UnixMicro())
	}
	if got := FromMicros(Micros(wall)); !got.Equal(wall) || got.Location() != time.UTC {
		t.Errorf("FromMicros(Micros(t)) = %v, want %v in UTC", got, wall)
	}
}
