package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nhs-junction/junction/internal/config"
)

// BenchmarkAuditedRead measures reads and searches through the composed
// server over HTTP (auth off), with the audit on and off, on SQLite, many
// clients at once (b.RunParallel). Compare the ns/op of the pairs:
//
//	go test -run '^$' -bench BenchmarkAuditedRead -benchtime 3s ./internal/app/
func BenchmarkAuditedRead(b *testing.B) {
	for _, mode := range []string{"off", "on"} {
		for _, kind := range []string{"read", "search"} {
			b.Run("audit="+mode+"/"+kind, func(b *testing.B) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				cfg := config.Defaults()
				cfg.Data = b.TempDir()
				cfg.Auth, cfg.Audit = "off", mode
				engine, err := OpenStore(ctx, cfg)
				if err != nil {
					b.Fatal(err)
				}
				defer engine.Close()
				node, err := Build(ctx, cfg, engine, slog.New(slog.NewTextHandler(io.Discard, nil)))
				if err != nil {
					b.Fatal(err)
				}
				srv := httptest.NewServer(node.Handler)
				defer srv.Close()
				resp, err := http.Post(srv.URL+"/fhir/Patient", "application/fhir+json", strings.NewReader(`{"resourceType":"Patient","name":[{"family":"Bench"}]}`))
				if err != nil {
					b.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				id := idOf(&testing.T{}, body)
				for i := 0; i < 5; i++ {
					r, _ := http.Post(srv.URL+"/fhir/Observation", "application/fhir+json", strings.NewReader(`{"resourceType":"Observation","status":"final","code":{"text":"pulse"},"subject":{"reference":"Patient/`+id+`"}}`))
					r.Body.Close()
				}
				url := srv.URL + "/fhir/Patient/" + id
				if kind == "search" {
					url = srv.URL + "/fhir/Observation?subject=Patient/" + id
				}
				client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
				b.SetParallelism(benchClients)
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						r, err := client.Get(url)
						if err != nil {
							b.Error(err)
							return
						}
						io.Copy(io.Discard, r.Body)
						r.Body.Close()
						if r.StatusCode != 200 {
							b.Errorf("status %d", r.StatusCode)
							return
						}
					}
				})
			})
		}
	}
}

// benchClients is the number of concurrent clients per GOMAXPROCS: an
// audited read waits for a durable commit, which group commit shares
// among the reads waiting at the same time, so audited throughput grows
// with the number of clients while unaudited reads are CPU-bound.
const benchClients = 32
