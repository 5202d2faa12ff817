package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// maxStmts bounds the statement cache. Queries are built from a fixed set
// of shapes with their values as arguments, so the number of distinct
// texts stays small; the bound only guards against a caller that builds
// values into the text.
const maxStmts = 256

// stmtCache keeps prepared statements by query text. Preparing is about
// 40% of the CPU time of a primary-key read with modernc.org/sqlite
// (measured with BenchmarkRead's profile), so reads reuse statements;
// database/sql prepares each one lazily once per pooled connection.
type stmtCache struct {
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

// get returns a prepared statement for query and a function to call when
// done with it, which closes the statement if the cache was full.
func (c *stmtCache) get(ctx context.Context, db *sql.DB, query string) (*sql.Stmt, func(), error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.stmts[query]; ok {
		return st, func() {}, nil
	}
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, nil, err
	}
	if len(c.stmts) >= maxStmts {
		return st, func() { st.Close() }, nil
	}
	if c.stmts == nil {
		c.stmts = map[string]*sql.Stmt{}
	}
	c.stmts[query] = st
	return st, func() {}, nil
}

// close closes the cached statements; the pool must be closed after.
func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var first error
	for q, st := range c.stmts {
		if err := st.Close(); err != nil && first == nil {
			first = err
		}
		delete(c.stmts, q)
	}
	return first
}
