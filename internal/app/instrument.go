package app

import (
	"context"
	"time"

	"github.com/nhs-junction/junction/internal/httpapi"
	"github.com/nhs-junction/junction/internal/search"
	"github.com/nhs-junction/junction/internal/searchparam"
	"github.com/nhs-junction/junction/internal/store"
)

// instrumented times every store call for the database metrics.
type instrumented struct {
	store.Store
	engine *search.Engine
	m      *httpapi.Metrics
}

// instrument wraps the search engine; the result still searches, inside
// write transactions too (interaction.Searcher).
func instrument(st *search.Engine, m *httpapi.Metrics) *instrumented {
	return &instrumented{Store: st, engine: st, m: m}
}

func (s *instrumented) Search(ctx context.Context, q *searchparam.Query, opt search.Options) (*search.Result, error) {
	defer s.observe("search", time.Now())
	return s.engine.Search(ctx, q, opt)
}

func (s *instrumented) SearchTx(ctx context.Context, tx store.Tx, q *searchparam.Query, opt search.Options) (*search.Result, error) {
	defer s.observe("search_tx", time.Now())
	return s.engine.SearchTx(ctx, tx, q, opt)
}

// DB passes the engine's committed reads through (the audit's patient
// lookups).
func (s *instrumented) DB() search.DB { return s.engine.DB() }

func (s *instrumented) observe(op string, start time.Time) { s.m.ObserveDB(op, time.Since(start)) }

func (s *instrumented) Read(ctx context.Context, typ, id string) (store.Version, error) {
	defer s.observe("read", time.Now())
	return s.Store.Read(ctx, typ, id)
}

func (s *instrumented) ReadVersion(ctx context.Context, typ, id string, v int64) (store.Version, error) {
	defer s.observe("read_version", time.Now())
	return s.Store.ReadVersion(ctx, typ, id, v)
}

func (s *instrumented) History(ctx context.Context, q store.HistoryQuery) (store.HistoryPage, error) {
	defer s.observe("history", time.Now())
	return s.Store.History(ctx, q)
}

// Posted passes the history capability of the engine through.
func (s *instrumented) Posted(ctx context.Context, seqs []int64) (map[int64]bool, error) {
	defer s.observe("history", time.Now())
	return s.engine.Posted(ctx, seqs)
}

func (s *instrumented) Write(ctx context.Context, fn func(store.Tx) error) error {
	defer s.observe("write", time.Now())
	return s.Store.Write(ctx, fn)
}
