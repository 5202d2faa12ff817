package access

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/nhs-junction/junction/internal/store"
)

// Execer runs one statement inside a write transaction, in the SQL both
// backends share ('?' placeholders). search.Execer has the same method,
// so the transactions of both store backends satisfy it.
type Execer interface {
	ExecShared(ctx context.Context, query string, args ...any) error
}

// WriteRows stores what version v contributes to the access tables
// (storesql.AccessSchema). It MUST be called in the transaction that
// stores v, after the version is stored (v.Seq set), for every version
// written by any path (create, update, patch, delete, transaction
// entries, merges, imports, reindex): a version without its rows is
// judged as if it were in no patient compartment and unlabelled.
//
// compartments are the Patient compartments of v as the search indexer
// computed them (index.Rows.Compartments); nil for a tombstone. A
// Patient's own compartment is its id alone: the Patient resources it
// links to do not make its demographics theirs.
//
// The current-state tables (care, consent, organisation) are replaced
// for v's resource; a tombstone removes its rows and carries the tags of
// the version it deletes, so a deleted clinical resource's history stays
// behind the same rules.
func WriteRows(ctx context.Context, ex Execer, v store.Version, compartments []string) error {
	if err := writeRows(ctx, ex, v, compartments); err != nil {
		return fmt.Errorf("access: write rows of %s/%s: %w", v.Type, v.ID, err)
	}
	return nil
}

func writeRows(ctx context.Context, ex Execer, v store.Version, compartments []string) error {
	care := slices.Contains(CareTypes, v.Type)
	if care {
		if err := ex.ExecShared(ctx, "DELETE FROM access_care WHERE src_type = ? AND src_id = ?", v.Type, v.ID); err != nil {
			return err
		}
	}
	switch v.Type {
	case "Consent":
		if err := ex.ExecShared(ctx, "DELETE FROM access_consent WHERE src_id = ?", v.ID); err != nil {
			return err
		}
	case "Organization":
		if err := ex.ExecShared(ctx, "DELETE FROM access_org WHERE id = ?", v.ID); err != nil {
			return err
		}
	}
	if v.Deleted {
		if v.Version <= 1 {
			return nil
		}
		return ex.ExecShared(ctx, "INSERT INTO access_tag (seq, kind, value) SELECT ?, t.kind, t.value FROM access_tag t "+
			"JOIN resource_version p ON p.seq = t.seq WHERE p.type = ? AND p.id = ? AND p.version = ?", v.Seq, v.Type, v.ID, v.Version-1)
	}
	var vals []any
	tags := 0
	if v.Type == "Patient" {
		compartments = []string{v.ID}
	}
	for _, p := range compartments {
		vals = append(vals, v.Seq, "p", p)
		tags++
	}
	for _, l := range Labels(v.Body) {
		vals = append(vals, v.Seq, "l", l)
		tags++
	}
	if err := insert(ctx, ex, "access_tag (seq, kind, value)", 3, tags, vals); err != nil {
		return err
	}
	if care {
		rows := CareRows(v.Type, v.Body)
		vals = vals[:0]
		for _, r := range rows {
			vals = append(vals, v.Type, v.ID, r.Patient, r.OrgID, r.OrgODS)
		}
		if err := insert(ctx, ex, "access_care (src_type, src_id, patient, org_id, org_ods)", 5, len(rows), vals); err != nil {
			return err
		}
	}
	switch v.Type {
	case "Consent":
		rows := ConsentRows(v.Body)
		vals = vals[:0]
		for _, r := range rows {
			vals = append(vals, v.ID, r.Patient, r.Clause, r.Kind, r.ActorType, r.ActorID, r.ActorODS, r.Purpose, r.Start, r.End)
		}
		return insert(ctx, ex, "access_consent (src_id, patient, clause, kind, actor_type, actor_id, actor_ods, purpose, start_us, end_us)", 10, len(rows), vals)
	case "Organization":
		codes := OrgODS(v.Body)
		vals = vals[:0]
		for _, c := range codes {
			vals = append(vals, v.ID, c)
		}
		return insert(ctx, ex, "access_org (id, ods)", 2, len(codes), vals)
	}
	return nil
}

// insertChunk is the most rows one INSERT carries: at 10 columns it stays
// far below SQLite's limit of 32,766 bound variables, however many actors
// a Consent names.
const insertChunk = 500

// insert writes n rows of width values each, insertChunk rows a statement.
func insert(ctx context.Context, ex Execer, into string, width, n int, vals []any) error {
	for done := 0; done < n; done += insertChunk {
		k := min(insertChunk, n-done)
		row := "(?" + strings.Repeat(", ?", width-1) + ")"
		q := "INSERT INTO " + into + " VALUES " + row + strings.Repeat(", "+row, k-1)
		if err := ex.ExecShared(ctx, q, vals[done*width:(done+k)*width]...); err != nil {
			return err
		}
	}
	return nil
}
