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

// BenchPut measures single-version write transactions, each creating a
// new resource, on s. With parallel it writes from GOMAXPROCS goroutines,
// where a backend that groups commits (PostgreSQL) can pull ahead.
func BenchPut(b *testing.B, s store.Store, parallel bool) {
	ctx := context.Background()
	var next atomic.Int64
	create := func() {
		id := fmt.Sprint("bench-", next.Add(1))
		err := s.Write(ctx, func(tx store.Tx) error {
			_, err := tx.Put(ctx, store.Version{Type: "Observation", ID: id, Version: 1, Body: benchBody})
			return err
		})
		if err != nil {
			b.Error(err)
		}
	}
	b.SetBytes(int64(len(benchBody)))
	if parallel {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				create()
			}
		})
		return
	}
	for b.Loop() {
		create()
	}
}

// BenchRead measures Read of the current version of one of 1,000
// resources on s, from one goroutine or, with parallel, from GOMAXPROCS.
func BenchRead(b *testing.B, s store.Store, parallel bool) {
	ctx := context.Background()
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
	ids := make([]string, readable)
	for i := range ids {
		ids[i] = fmt.Sprint("read-", i)
	}
	read := func(i int) {
		v, err := s.Read(ctx, "Observation", ids[i%readable])
		if err != nil || len(v.Body) != len(benchBody) {
			b.Errorf("Read: %v", err)
		}
	}
	b.SetBytes(int64(len(benchBody)))
	b.ResetTimer()
	if parallel {
		b.RunParallel(func(pb *testing.PB) {
			for i := 0; pb.Next(); i += 7 {
				read(i)
			}
		})
		return
	}
	for i := 0; b.Loop(); i++ {
		read(i)
	}
}
