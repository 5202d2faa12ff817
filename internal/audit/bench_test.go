package audit

import (
	"context"
	"database/sql"
	"net/url"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// BenchmarkVerify measures Verify over a log of 20,000 BALP AuditEvents
// (about 1.9 kB each): every body hashed, every leaf, tile and join
// checked. The target is at least 100,000 entries per second.
// entries/s is per second of elapsed time; entries/cpu-s per second of
// the process's CPU time (user and system), which a machine shared with
// other work does not distort.
//
//	go test -run '^$' -bench BenchmarkVerify -benchtime 3x ./internal/audit/
func BenchmarkVerify(b *testing.B) {
	const n = 20_000
	for _, be := range backends(b) {
		b.Run(be.name, func(b *testing.B) {
			st := be.open(b)
			l := openLog(b, st)
			writeEvents(b, st, "bench", n, 2000)
			integrate(b, l)
			var db DB = st.(DB)
			if be.dir != "" {
				// As junction audit verify reads SQLite: its own
				// connections, with memory-mapped reads.
				q := url.Values{}
				q.Add("_pragma", "query_only(1)")
				q.Add("_pragma", "mmap_size(68719476736)")
				sdb, err := sql.Open("sqlite", filepath.Join(be.dir, "junction.db")+"?"+q.Encode())
				if err != nil {
					b.Fatal(err)
				}
				defer sdb.Close()
				db = sqlDB{sdb}
			}
			b.ResetTimer()
			start, cpu := time.Now(), cpuTime()
			for b.Loop() {
				rep, err := Verify(context.Background(), db, VerifyOptions{})
				if err != nil || !rep.OK() || rep.Leaves != n {
					b.Fatalf("%v %+v", err, rep)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/time.Since(start).Seconds(), "entries/s")
			b.ReportMetric(float64(n)*float64(b.N)/(cpuTime()-cpu).Seconds(), "entries/cpu-s")
		})
	}
}

// cpuTime returns the CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// sqlDB runs the shared SQL on a database/sql pool.
type sqlDB struct{ db *sql.DB }

func (d sqlDB) QueryShared(ctx context.Context, query string, args []any, row func(scan func(dest ...any) error) error) error {
	rows, err := d.db.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}
