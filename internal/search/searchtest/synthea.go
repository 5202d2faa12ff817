package searchtest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nhs-junction/junction/internal/index"
	"github.com/nhs-junction/junction/internal/search"
	"github.com/nhs-junction/junction/internal/searchparam"
	"github.com/nhs-junction/junction/internal/store"
)

// RunSynthea loads the Synthea bundles in files and checks that searches
// built from the data itself (every parameter of every loaded type, with
// values drawn from the resources and several prefixes and modifiers)
// return exactly what the reference semantics (matches) say.
func RunSynthea(t *testing.T, b Backend, files []string) {
	ctx := context.Background()
	ix := index.New(searchparam.R4(), "")
	byType := map[string][]*index.Rows{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var bundle struct {
			Entry []struct {
				FullURL  string
				Resource json.RawMessage
			}
		}
		if err := json.Unmarshal(raw, &bundle); err != nil {
			t.Fatal(err)
		}
		// A transaction's urn:uuid references become Type/id when stored.
		var pairs []string
		for _, e := range bundle.Entry {
			var h struct{ ResourceType, ID string }
			json.Unmarshal(e.Resource, &h)
			pairs = append(pairs, `"`+e.FullURL+`"`, `"`+h.ResourceType+"/"+h.ID+`"`)
		}
		raw = []byte(strings.NewReplacer(pairs...).Replace(string(raw)))
		if err := json.Unmarshal(raw, &bundle); err != nil {
			t.Fatal(err)
		}
		err = b.Engine.Write(ctx, func(tx store.Tx) error {
			for _, e := range bundle.Entry {
				var h struct{ ResourceType, ID string }
				json.Unmarshal(e.Resource, &h)
				cur, err := tx.Current(ctx, h.ResourceType, h.ID)
				if err != nil && err != store.ErrNotFound {
					return err
				}
				if _, err := tx.Put(ctx, store.Version{Type: h.ResourceType, ID: h.ID, Version: cur.Version + 1, Body: e.Resource}); err != nil {
					return err
				}
				rows, err := ix.Index(e.Resource)
				if err != nil {
					return err
				}
				byType[h.ResourceType] = slices.DeleteFunc(byType[h.ResourceType], func(r *index.Rows) bool { return r.ID == h.ID })
				byType[h.ResourceType] = append(byType[h.ResourceType], rows)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	types := make([]string, 0, len(byType))
	for typ := range byType {
		types = append(types, typ)
	}
	sort.Strings(types)
	n := 0
	for _, typ := range types {
		all := byType[typ]
		for _, d := range searchparam.R4().Params(typ) {
			for _, qs := range queriesFor(d, all, rng) {
				n++
				checkQuery(t, b, typ, qs, all)
			}
		}
	}
	t.Logf("%d queries over %d types", n, len(types))
}

func checkQuery(t *testing.T, b Backend, typ string, qs []searchparam.Param, all []*index.Rows) {
	t.Helper()
	label := fmt.Sprintf("%s?%s=%s", typ, qs[0].Name, qs[0].Value)
	q, err := searchparam.Parse(searchparam.R4(), typ, qs, searchparam.Options{Now: time.Now()})
	if err != nil {
		t.Errorf("%s: %v", label, err)
		return
	}
	q.Count = searchparam.MaxCount
	res, err := b.Engine.Search(context.Background(), q, search.Options{})
	if err != nil {
		t.Errorf("%s: %v", label, err)
		return
	}
	var want []string
	for _, r := range all {
		if matches(q.Filters[0], r) {
			want = append(want, r.ID)
		}
	}
	got := ids(res.Matches)
	sort.Strings(got)
	sort.Strings(want)
	if len(want) > searchparam.MaxCount {
		if res.Total != len(want) {
			t.Errorf("%s: total %d, want %d", label, res.Total, len(want))
		}
		return
	}
	if !slices.Equal(got, want) || res.Total != len(want) {
		t.Errorf("%s: got %d (total %d), want %d\n got %v\nwant %v", label, len(got), res.Total, len(want), clip(got), clip(want))
	}
}

func clip(s []string) []string {
	if len(s) > 8 {
		return append(s[:8:8], "...")
	}
	return s
}

// esc escapes a search value (search.html 3.1.1.6).
func esc(s string) string {
	return strings.NewReplacer(`\`, `\\`, `,`, `\,`, `$`, `\$`, `|`, `\|`).Replace(s)
}

func day(us int64) string { return time.UnixMicro(us).UTC().Format(time.DateOnly) }

// queriesFor draws search values for parameter d from the resources.
func queriesFor(d *searchparam.Def, all []*index.Rows, rng *rand.Rand) [][]searchparam.Param {
	p := func(mod, v string) []searchparam.Param {
		return []searchparam.Param{{Name: d.Name + mod, Value: v}}
	}
	var out [][]searchparam.Param
	if d.Kind != searchparam.KindComposite && d.Kind != searchparam.KindSpecial && d.Name != "_id" && d.Name != "_lastUpdated" {
		out = append(out, p(":missing", "true"), p(":missing", "false"))
	}
	pick := func(n int) []int {
		if n == 0 {
			return nil
		}
		return []int{rng.IntN(n), rng.IntN(n)}
	}
	var rows []*index.Rows
	for _, r := range all {
		rows = append(rows, r)
	}
	for range 2 {
		r := rows[rng.IntN(len(rows))]
		switch d.Kind {
		case searchparam.KindString:
			s := filterRows(r.Strings, func(x index.StringRow) bool { return x.Param == d.Name })
			for _, i := range pick(len(s)) {
				x := s[i]
				out = append(out, p("", esc(string([]rune(x.Norm)[:min(3, len([]rune(x.Norm)))]))), p(":exact", esc(x.Exact)))
				if len([]rune(x.Norm)) > 3 {
					out = append(out, p(":contains", esc(string([]rune(x.Norm)[1:3]))))
				}
			}
		case searchparam.KindToken:
			s := filterRows(r.Tokens, func(x index.TokenRow) bool { return x.Param == d.Name })
			for _, i := range pick(len(s)) {
				x := s[i]
				if x.Code != "" {
					out = append(out, p("", esc(x.System)+"|"+esc(x.Code)), p("", esc(x.Code)), p(":not", esc(x.Code)))
				}
				if x.Text != "" {
					out = append(out, p(":text", esc(string([]rune(x.Text)[:min(4, len([]rune(x.Text)))]))))
				}
			}
		case searchparam.KindDate:
			s := filterRows(r.Dates, func(x index.DateRow) bool { return x.Param == d.Name && x.Low != searchparam.MinInt64 })
			for _, i := range pick(len(s)) {
				x := s[i]
				for _, pre := range []string{"", "ne", "gt", "lt", "ge", "le", "sa", "eb"} {
					out = append(out, p("", pre+day(x.Low)))
				}
				out = append(out, p("", day(x.Low)[:4]), p("", "ge"+day(x.Low)[:7]))
			}
		case searchparam.KindNumber:
			s := filterRows(r.Numbers, func(x index.NumberRow) bool { return x.Param == d.Name })
			for _, i := range pick(len(s)) {
				v := strconv.FormatFloat(s[i].Value, 'f', -1, 64)
				for _, pre := range []string{"", "ne", "gt", "lt", "ge", "le"} {
					out = append(out, p("", pre+v))
				}
			}
		case searchparam.KindQuantity:
			s := filterRows(r.Quantities, func(x index.QuantityRow) bool { return x.Param == d.Name })
			for _, i := range pick(len(s)) {
				x := s[i]
				v := strconv.FormatFloat(x.Value, 'f', -1, 64)
				for _, pre := range []string{"", "gt", "le"} {
					out = append(out, p("", pre+v), p("", pre+v+"|"+esc(x.System)+"|"+esc(x.Code)), p("", pre+v+"||"+esc(x.Code)))
				}
			}
		case searchparam.KindReference:
			s := filterRows(r.Refs, func(x index.RefRow) bool { return x.Param == d.Name })
			for _, i := range pick(len(s)) {
				x := s[i]
				switch {
				case x.TargetID != "" && (len(d.Targets) == 0 || slices.Contains(d.Targets, x.TargetType)):
					out = append(out, p("", x.TargetType+"/"+x.TargetID), p("", x.TargetID))
				case x.URL != "":
					out = append(out, p("", esc(x.URL)))
				}
				if x.IdentValue != "" {
					out = append(out, p(":identifier", esc(x.IdentSystem)+"|"+esc(x.IdentValue)))
				}
			}
		case searchparam.KindURI:
			s := filterRows(r.URIs, func(x index.URIRow) bool { return x.Param == d.Name })
			for _, i := range pick(len(s)) {
				out = append(out, p("", esc(s[i].URI)), p(":below", esc(s[i].URI[:len(s[i].URI)/2])))
			}
		}
	}
	return out
}
