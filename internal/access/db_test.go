package access_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/url"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/nhs-junction/junction/internal/access"
	"github.com/nhs-junction/junction/internal/index"
	"github.com/nhs-junction/junction/internal/search"
	"github.com/nhs-junction/junction/internal/searchparam"
	"github.com/nhs-junction/junction/internal/store"
	"github.com/nhs-junction/junction/internal/store/postgres"
	"github.com/nhs-junction/junction/internal/store/sqlite"
)

var indexer = index.New(searchparam.R4(), "")

// db is a real store with the search index and the access tables, written
// the way the server writes them: the version, its index rows and its
// access rows in one transaction.
type db struct {
	st interface {
		store.Store
		search.DB
	}
}

type execer interface {
	ExecShared(ctx context.Context, query string, args ...any) error
}

func openSQLite(t testing.TB) *db {
	st, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &db{st: st}
}

func openPostgres(t testing.TB) *db {
	base := os.Getenv("JUNCTION_TEST_POSTGRES")
	if base == "" {
		t.Skip("JUNCTION_TEST_POSTGRES is not set")
	}
	ctx := context.Background()
	name := "junction_access_" + strings.ToLower(rand.Text()[:12])
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+ident); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close(ctx)
		conn.Exec(ctx, "DROP SCHEMA "+ident+" CASCADE")
	})
	pu, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := pu.Query()
	q.Set("search_path", name)
	pu.RawQuery = q.Encode()
	st, err := postgres.Open(ctx, pu.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &db{st: st}
}

// put writes bodies (each a resource with resourceType and id) as new
// versions, or deletes "Type/id" strings prefixed with "-".
func (d *db) put(t testing.TB, bodies ...string) {
	t.Helper()
	ctx := context.Background()
	err := d.st.Write(ctx, func(tx store.Tx) error {
		ex := tx.(execer)
		for _, b := range bodies {
			var h struct{ ResourceType, ID string }
			del := strings.HasPrefix(b, "-")
			if del {
				h.ResourceType, h.ID, _ = strings.Cut(b[1:], "/")
			} else if err := json.Unmarshal([]byte(b), &h); err != nil {
				t.Fatalf("bad test resource %s: %v", b, err)
			}
			cur, err := tx.Current(ctx, h.ResourceType, h.ID)
			ver := int64(1)
			if err == nil {
				ver = cur.Version + 1
			}
			v := store.Version{Type: h.ResourceType, ID: h.ID, Version: ver}
			var rows *index.Rows
			if del {
				v.Deleted = true
			} else {
				v.Body = []byte(b)
				if rows, err = indexer.Index(v.Body); err != nil {
					return err
				}
			}
			if v, err = tx.Put(ctx, v); err != nil {
				return err
			}
			var comps []string
			if rows != nil {
				if err := search.WriteRows(ctx, ex, v.Seq, rows); err != nil {
					return err
				}
				comps = rows.Compartments
			}
			if err := access.WriteRows(ctx, ex, v, comps); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// visible returns "Type/id" of the current resources (of typ, or of every
// type when typ is "") that f lets through, sorted.
func (d *db) visible(t testing.TB, f *access.Filter, typ string) []string {
	t.Helper()
	cond, args := f.SQL("v", typ)
	q := "SELECT v.type, v.id FROM resource r JOIN resource_version v ON v.seq = r.seq WHERE NOT r.deleted AND " + cond
	if typ != "" {
		q += " AND v.type = ?"
		args = append(args, typ)
	}
	var out []string
	err := d.st.QueryShared(context.Background(), q, args, func(scan func(...any) error) error {
		var ty, id string
		if err := scan(&ty, &id); err != nil {
			return err
		}
		out = append(out, ty+"/"+id)
		return nil
	})
	if err != nil {
		t.Fatalf("filter SQL failed: %v\n%s", err, cond)
	}
	sort.Strings(out)
	return out
}

// versions returns "Type/id/version" of every stored version (history at
// system level) that f lets through.
func (d *db) versions(t testing.TB, f *access.Filter) []string {
	t.Helper()
	cond, args := f.SQL("v", "")
	var out []string
	err := d.st.QueryShared(context.Background(), "SELECT v.type, v.id, v.version FROM resource_version v WHERE "+cond, args,
		func(scan func(...any) error) error {
			var ty, id string
			var ver int64
			if err := scan(&ty, &id, &ver); err != nil {
				return err
			}
			out = append(out, ty+"/"+id+"/"+itoa(ver))
			return nil
		})
	if err != nil {
		t.Fatalf("filter SQL failed: %v", err)
	}
	sort.Strings(out)
	return out
}

func itoa(v int64) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// relatedTo runs PatientSQL / RelationshipSQL for one patient.
func (d *db) holds(t testing.TB, cond string, args []any) bool {
	t.Helper()
	n := 0
	err := d.st.QueryShared(context.Background(), "SELECT 1 WHERE "+cond, args, func(scan func(...any) error) error {
		n++
		return nil
	})
	if err != nil {
		t.Fatalf("SQL failed: %v\n%s", err, cond)
	}
	return n > 0
}
