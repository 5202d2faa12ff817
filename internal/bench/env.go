package bench

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/nhs-junction/junction/internal/app"
	"github.com/nhs-junction/junction/internal/config"
	"github.com/nhs-junction/junction/internal/store"
	"github.com/nhs-junction/junction/internal/store/sqlite"
)

// env is Junction under test: a fresh store, the service and HTTP stack
// over it listening on 127.0.0.1, and the client that drives it.
type env struct {
	cfg    config.Config
	store  store.Store
	base   string // FHIR base, http://127.0.0.1:port/fhir
	stop   func()
	schema string // PostgreSQL schema of the store; "" on SQLite
	drops  []func()
}

// openEnv opens a fresh store under work (SQLite) or in a new schema of
// opts.Database (PostgreSQL), and starts the server over it.
func openEnv(ctx context.Context, opts Options, work string) (_ *env, err error) {
	e := &env{cfg: config.Defaults()}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	e.cfg.Validation = opts.Validation
	e.cfg.LogLevel = "info"
	e.cfg.Auth = "off"
	if opts.Database != "" {
		u, schema, drop, err := freshSchema(ctx, opts.Database, "junction_bench_")
		if err != nil {
			return nil, err
		}
		e.drops = append(e.drops, drop)
		e.cfg.Database, e.schema = u, schema
	} else {
		e.cfg.Data = filepath.Join(work, "junction")
	}
	engine, err := app.OpenStore(ctx, e.cfg)
	if err != nil {
		return nil, err
	}
	e.store = engine
	// The stack app.Serve builds, with the request log formatted at its
	// default level and then discarded: formatting is part of the cost
	// of a request, writing to a terminal is not.
	node, err := app.Build(ctx, e.cfg, engine, app.NewLogger(e.cfg, io.Discard))
	if err != nil {
		return nil, err
	}
	root, stop, err := serve(node.Handler)
	if err != nil {
		return nil, err
	}
	e.base, e.stop = root+"/fhir", stop
	return e, nil
}

func (e *env) close() {
	if e.stop != nil {
		e.stop()
	}
	if e.store != nil {
		_ = e.store.Close()
	}
	for _, drop := range e.drops {
		drop()
	}
}

// diskBytes is the store's footprint: on SQLite the database directory
// (file, WAL and shared memory) after a checkpoint has moved the WAL into
// the file; on PostgreSQL the total size (heap, TOAST and indexes) of
// every table in the store's schema.
func (e *env) diskBytes(ctx context.Context) (int64, error) {
	if e.schema != "" {
		return schemaBytes(ctx, e.cfg.Database, e.schema)
	}
	if err := checkpoint(ctx, filepath.Join(e.cfg.Data, sqlite.FileName)); err != nil {
		return 0, err
	}
	return dirBytes(e.cfg.Data)
}

// freshSchema creates an empty schema named prefix plus a random suffix
// in the database at base, and returns a URL whose connections use it
// (search_path, which pgx sends as a session setting) and a function that
// drops it with everything in it.
func freshSchema(ctx context.Context, base, prefix string) (string, string, func(), error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", "", nil, fmt.Errorf("--database: %w", err)
	}
	// Lower case: unquoted names in search_path fold to lower case.
	name := prefix + strings.ToLower(rand.Text()[:12])
	ident := pgx.Identifier{name}.Sanitize()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", "", nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	_, err = conn.Exec(ctx, "CREATE SCHEMA "+ident)
	conn.Close(ctx)
	if err != nil {
		return "", "", nil, fmt.Errorf("create schema %s: %w", name, err)
	}
	drop := func() {
		// Not ctx: the schema must go even when the run was interrupted.
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: could not drop schema %s: %v\n", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+ident+" CASCADE"); err != nil {
			fmt.Fprintf(os.Stderr, "bench: could not drop schema %s: %v\n", name, err)
		}
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String(), name, drop, nil
}

// schemaBytes sums pg_total_relation_size over the tables of schema.
func schemaBytes(ctx context.Context, dbURL, schema string) (int64, error) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var n int64
	err = conn.QueryRow(ctx, `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint
		FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
		WHERE ns.nspname = $1 AND c.relkind IN ('r', 'p', 'm')`, schema).Scan(&n)
	return n, err
}

// dirBytes sums the sizes of the regular files in dir.
func dirBytes(dir string) (int64, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, ent := range ents {
		info, err := ent.Info()
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, err
		}
		if info.Mode().IsRegular() {
			n += info.Size()
		}
	}
	return n, nil
}
