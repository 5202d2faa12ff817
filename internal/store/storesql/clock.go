package storesql

import (
	"sync"
	"time"
)

// Micros converts t to the stored form of last_updated: integer
// microseconds since the Unix epoch, UTC. An integer sorts and compares the
// same way in every database, and FHIR instants need no finer precision.
func Micros(t time.Time) int64 { return t.UnixMicro() }

// FromMicros is the inverse of Micros.
func FromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// Clock hands out transaction times that strictly increase, even when the
// wall clock steps backwards (NTP correction, VM migration): a later
// transaction then gets last+1µs instead. History _since and _at compare
// last_updated, so a time that went backwards would hide a version from a
// client polling with _since.
type Clock struct {
	// Wall is the time source; nil means time.Now. Tests replace it.
	Wall func() time.Time

	mu   sync.Mutex
	last int64
}

// Next returns a time, in microseconds, later than every time Next has
// returned before and later than floor (the newest last_updated already
// in the database, so that a restarted process or another process writing
// to the same database does not go backwards either).
func (c *Clock) Next(floor int64) int64 {
	wall := time.Now
	if c.Wall != nil {
		wall = c.Wall
	}
	now := wall().UnixMicro()
	c.mu.Lock()
	defer c.mu.Unlock()
	now = max(now, c.last+1, floor+1)
	c.last = now
	return now
}
