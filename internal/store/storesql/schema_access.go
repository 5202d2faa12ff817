package storesql

import "strings"

// AccessSchema returns the statements that create the tables the access
// decision reads (internal/access), one migration of both backends. The
// access package fills them in the transaction that writes each version
// (access.WriteRows) and reads them from the conditions its Filter
// renders.
//
//   - access_tag holds, per resource version (never rewritten, never
//     vacuumed, so history of old versions is judged by what they said):
//     kind 'p' the Patient compartments the version is in, kind 'l' its
//     R and V confidentiality labels. A tombstone carries its
//     predecessor's tags.
//   - access_care, access_consent and access_org hold the current state
//     only, keyed by the resource that stated it (src_type, src_id):
//     each write of that resource replaces its rows, a delete removes
//     them. They answer "is this organisation caring for this patient",
//     "what has this patient consented to" and "which Organization
//     resources carry this ODS code".
func AccessSchema(d Dialect) []string {
	text, big, strict := "TEXT NOT NULL", "INTEGER NOT NULL", " STRICT"
	if d == Postgres {
		text, big, strict = `text COLLATE "C" NOT NULL`, "bigint NOT NULL", ""
	}
	cols := func(c ...string) string { return strings.Join(c, ", ") }
	return []string{
		"CREATE TABLE access_tag (" + cols("seq "+big, "kind "+text, "value "+text) + ")" + strict,
		"CREATE INDEX access_tag_seq ON access_tag (seq, kind, value)",
		"CREATE TABLE access_care (" + cols("src_type "+text, "src_id "+text, "patient "+text, "org_id "+text, "org_ods "+text) + ")" + strict,
		"CREATE INDEX access_care_patient ON access_care (patient, org_ods, org_id)",
		"CREATE INDEX access_care_src ON access_care (src_type, src_id)",
		"CREATE TABLE access_org (" + cols("id "+text, "ods "+text) + ")" + strict,
		"CREATE INDEX access_org_ods ON access_org (ods, id)",
		"CREATE INDEX access_org_id ON access_org (id)",
		"CREATE TABLE access_consent (" + cols("src_id "+text, "patient "+text, "clause "+big, "kind "+text,
			"actor_type "+text, "actor_id "+text, "actor_ods "+text, "purpose "+text, "start_us "+big, "end_us "+big) + ")" + strict,
		"CREATE INDEX access_consent_patient ON access_consent (patient, kind)",
		"CREATE INDEX access_consent_clause ON access_consent (src_id, clause, kind)",
		// Existing stores: the compartments and labels of the versions
		// whose search index rows are still held. Relationships, consents
		// and organisations need the JSON bodies: the server rebuilds them
		// with the search index (the index version changes with this
		// migration).
		"INSERT INTO access_tag (seq, kind, value) SELECT seq, 'p', patient FROM search_compartment WHERE type <> 'Patient'",
		"INSERT INTO access_tag (seq, kind, value) SELECT v.seq, 'p', v.id FROM resource_version v WHERE v.type = 'Patient' AND NOT v.deleted",
		"INSERT INTO access_tag (seq, kind, value) SELECT DISTINCT seq, 'l', code FROM search_token WHERE param = '_security' AND system = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality' AND code IN ('R', 'V')",
	}
}

// BreakGlassSchema returns the table of break-glass grants, and the index
// that finds a patient's record among the access rows: a
// practitioner's asserted emergency access to one patient, with its
// reason and when it ends (internal/access). Rows are never removed: they
// are the record privacy officers review, beside the review Task.
func BreakGlassSchema(d Dialect) []string {
	text, big, strict := "TEXT NOT NULL", "INTEGER NOT NULL", " STRICT"
	if d == Postgres {
		text, big, strict = `text COLLATE "C" NOT NULL`, "bigint NOT NULL", ""
	}
	return []string{
		"CREATE TABLE access_breakglass (task_id " + text + " PRIMARY KEY, subject " + text + ", patient " + text +
			", reason " + text + ", since_us " + big + ", until_us " + big + ")" + strict,
		"CREATE INDEX access_breakglass_subject ON access_breakglass (subject, until_us)",
		// A patient's record from the access rows: whether part of it is
		// withheld from a caller is asked per patient.
		"CREATE INDEX access_tag_value ON access_tag (value, kind, seq)",
	}
}
