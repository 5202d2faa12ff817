package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/nhs-junction/junction/internal/store"
	"github.com/nhs-junction/junction/internal/store/sqlite"
	"github.com/nhs-junction/junction/internal/store/storetest"
)

func TestStore(t *testing.T) {
	// Each test gets its own directory; opening again with the same t opens
	// the same file, as storetest.Open requires.
	var mu sync.Mutex
	dirs := map[*testing.T]string{}
	storetest.Run(t, func(t *testing.T) store.Store {
		mu.Lock()
		dir, ok := dirs[t]
		if !ok {
			dir = t.TempDir()
			dirs[t] = dir
		}
		mu.Unlock()
		s, err := sqlite.Open(context.Background(), dir)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func BenchmarkPut(b *testing.B)         { storetest.BenchPut(b, benchStore(b), false) }
func BenchmarkPutParallel(b *testing.B) { storetest.BenchPut(b, benchStore(b), true) }
func BenchmarkRead(b *testing.B)        { storetest.BenchRead(b, benchStore(b), false) }
func BenchmarkReadParallel(b *testing.B) {
	storetest.BenchRead(b, benchStore(b), true)
}

func benchStore(b *testing.B) store.Store {
	s, err := sqlite.Open(context.Background(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func TestDiskBudget(t *testing.T) {
	dir := t.TempDir()
	s, err := sqlite.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	storetest.CheckDiskBudget(t, s, func() int64 {
		// Closing checkpoints the WAL into the database file and removes
		// it, leaving one file to measure.
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		var total int64
		for _, name := range []string{sqlite.FileName, sqlite.FileName + "-wal"} {
			if fi, err := os.Stat(filepath.Join(dir, name)); err == nil {
				total += fi.Size()
			}
		}
		return total
	})
}
