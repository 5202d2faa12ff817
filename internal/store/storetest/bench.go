package storetest

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/nhs-junction/junction/internal/store"
)

// benchBody is about 1 KiB, the size of a typical Observation.
var benchBody = append([]byte(`{"resourceType":"Observation","status":"final","note":"`),
	append(bytes.Repeat([]byte("x"), 960), `"}`...)...)

// Bench runs the storage benchmarks on the store s, which should be empty:
// Put (one single-version write transaction per op, each a new resource),
// PutParallel (the same from GOMAXPROCS goroutines, where a backend that
// groups commits can pull ahead), and Read and ReadParallel (current
// version of one of 1,000 resources).
func Bench(b *testing.B, s store.Store) {
	ctx := context.Background()
	var next atomic.Int64
	create := func(b *testing.B) {
		id := fmt.Sprint("bench-", next.Add(1))
		err := s.Write(ctx, func(tx store.Tx) error {
			_, err := tx.Put(ctx, store.Version{Type: "Observation", ID: id, Version: 1, Body: benchBody})
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.Run("Put", func(b *testing.B) {
		b.SetBytes(int64(len(benchBody)))
		for b.Loop() {
			create(b)
		}
	})
	b.Run("PutParallel", func(b *testing.B) {
		b.SetBytes(int64(len(benchBody)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				create(b)
			}
		})
	})

	const readable = 1000
	err := s.Write(ctx, func(tx store.Tx) error {
		for i := range readable {
			id := fmt.Sprint("read-", i)
			if _, err := tx.Put(ctx, store.Version{Type: "Observation", ID: id, Version: 1, Body: benchBody}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	read := func(b *testing.B, i int) {
		v, err := s.Read(ctx, "Observation", fmt.Sprint("read-", i%readable))
		if err != nil || len(v.Body) != len(benchBody) {
			b.Fatalf("Read: %v", err)
		}
	}
	b.Run("Read", func(b *testing.B) {
		i := 0
		for b.Loop() {
			read(b, i)
			i++
		}
	})
	b.Run("ReadParallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				read(b, i)
				i += 7
			}
		})
	})
}
