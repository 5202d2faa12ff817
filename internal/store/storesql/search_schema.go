package storesql

import (
	"fmt"
	"strings"
)

// SearchComponents is the most components a composite parameter may have
// and still be indexed; the largest in R4 (MolecularSequence
// *-coordinate) has three.
const SearchComponents = 3

// SearchSchema returns the statements that create the search index
// tables for dialect d (migration 2 of both backends). The search package
// fills and reads them.
//
// Every index row carries the seq of the resource version it was computed
// from, and rows are never rewritten when the resource changes: a new
// version gets rows of its own. A search pinned to snapshot S keeps the
// rows of versions that were current at S, so a page read
// while the data changes answers exactly as the first page did, and its
// total stays true. Rows of versions replaced before any live snapshot
// can be removed (search.Engine.Vacuum).
//
// Text columns compare bytewise (COLLATE "C" on PostgreSQL, SQLite's
// default BINARY), so prefix ranges and sort order are the same on both
// backends.
func SearchSchema(d Dialect) []string {
	text, real, big := "TEXT NOT NULL", "REAL", "INTEGER NOT NULL"
	strict := " STRICT"
	if d == Postgres {
		text, real, big, strict = `text COLLATE "C" NOT NULL`, "double precision", "bigint NOT NULL", ""
	}
	comp := func(i int) string {
		c := fmt.Sprintf("c%d_", i)
		return strings.Join([]string{
			c + "system " + text, c + "code " + text, c + "low " + big, c + "high " + big,
			c + "num " + real, c + "canon_code " + text, c + "canon_num " + real,
		}, ", ")
	}
	var comps []string
	for i := 1; i <= SearchComponents; i++ {
		comps = append(comps, comp(i))
	}
	tables := []struct{ name, cols string }{
		{"search_string", "norm " + text + ", exact " + text},
		{"search_token", "system " + text + ", code " + text + ", text " + text + ", type_system " + text + ", type_code " + text},
		{"search_ref", "target_type " + text + ", target_id " + text + ", url " + text + ", version " + text + ", ident_system " + text + ", ident_value " + text},
		{"search_date", "low " + big + ", high " + big},
		{"search_number", "value " + real + " NOT NULL"},
		{"search_quantity", "value " + real + " NOT NULL, system " + text + ", code " + text + ", unit " + text + ", canon_code " + text + ", canon_value " + real},
		{"search_uri", "uri " + text},
		{"search_composite", strings.Join(comps, ", ")},
	}
	var out []string
	for _, t := range tables {
		out = append(out, fmt.Sprintf("CREATE TABLE %s (seq %s, type %s, param %s, %s)%s", t.name, big, text, text, t.cols, strict))
		// Every table is read by resource version for :missing, _sort and
		// _include.
		out = append(out, fmt.Sprintf("CREATE INDEX %s_seq ON %s (seq, param)", t.name, t.name))
	}
	out = append(out,
		"CREATE INDEX search_string_norm ON search_string (type, param, norm, seq)",
		"CREATE INDEX search_string_exact ON search_string (type, param, exact)",
		"CREATE INDEX search_token_code ON search_token (type, param, code, system, seq)", // reordered by migration 3
		// Partial indexes on the columns that are empty in most rows; the
		// planner repeats the "<> ''" term so both databases use them.
		"CREATE INDEX search_token_text ON search_token (type, param, text) WHERE text <> ''",
		"CREATE INDEX search_ref_target ON search_ref (type, param, target_id, target_type, seq)",
		// _revinclude and _has: who refers to these resources.
		"CREATE INDEX search_ref_reverse ON search_ref (target_id, target_type)",
		"CREATE INDEX search_ref_url ON search_ref (type, param, url) WHERE url <> ''",
		"CREATE INDEX search_ref_ident ON search_ref (type, param, ident_value) WHERE ident_value <> ''",
		"CREATE INDEX search_date_low ON search_date (type, param, low)",
		"CREATE INDEX search_date_high ON search_date (type, param, high)",
		"CREATE INDEX search_number_value ON search_number (type, param, value)",
		"CREATE INDEX search_quantity_value ON search_quantity (type, param, code, value)",
		"CREATE INDEX search_quantity_canon ON search_quantity (type, param, canon_code, canon_value) WHERE canon_code <> ''",
		"CREATE INDEX search_uri_uri ON search_uri (type, param, uri)",
		"CREATE INDEX search_composite_c1 ON search_composite (type, param, c1_code)",
		fmt.Sprintf("CREATE TABLE search_text (seq %s PRIMARY KEY, type %s, text %s, content %s)%s", strings.TrimSuffix(big, " NOT NULL"), text, text, text, strict),
		// The Patient compartments of each version: the key a sharded
		// deployment distributes by (VISION.md, scale path).
		fmt.Sprintf("CREATE TABLE search_compartment (seq %s, type %s, patient %s)%s", big, text, text, strict),
		"CREATE INDEX search_compartment_patient ON search_compartment (patient, type, seq)",
		"CREATE INDEX search_compartment_seq ON search_compartment (seq)",
		// The newest snapshot whose index rows Vacuum may have removed:
		// page links pinned before it are refused rather than answered
		// from a partial index.
		fmt.Sprintf("CREATE TABLE search_horizon (id %s PRIMARY KEY, seq %s)%s", strings.TrimSuffix(big, " NOT NULL"), big, strict),
		"INSERT INTO search_horizon (id, seq) VALUES (1, 0)",
	)
	return out
}

// SearchSeqOrder returns migration 3 of both backends: the token index
// keeps each code's rows in seq order (system after seq), so a page of a
// search driven by a code reads its window of candidates as one index
// range instead of sorting every row of the code. A system, when given,
// is still checked in the index.
func SearchSeqOrder() []string {
	return []string{
		"DROP INDEX search_token_code",
		"CREATE INDEX search_token_code ON search_token (type, param, code, seq, system)",
	}
}

// SearchMeta returns migration 4 of both backends: the version of the
// indexer that computed the stored index rows (search.IndexVersion), so a
// binary whose indexer computes different rows knows to rebuild them. 0
// is "not known"; a store without resources is brought up to date at
// once, any other is reindexed.
func SearchMeta() []string {
	return []string{
		"CREATE TABLE search_meta (id INTEGER PRIMARY KEY, index_version INTEGER NOT NULL)",
		"INSERT INTO search_meta (id, index_version) VALUES (1, 0)",
	}
}
