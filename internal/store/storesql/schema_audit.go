package storesql

// AuditSchema returns the statements that create the tables of the
// transparency log of AuditEvents for dialect d (one migration of both
// backends). The audit package fills and reads them; they live in the same
// database as the resources, so one backup holds the AuditEvents and the
// log that proves them.
//
//   - audit_leaf: one row per AuditEvent version committed to the log. It is
//     written in the same transaction as the AuditEvent version (idx NULL:
//     queued), and the integrator later gives it its leaf index. entry is
//     the leaf data, SHA-256(salt || body); the salt keeps the published
//     entry from confirming a guessed AuditEvent body. queued, the
//     version's seq, orders the rows waiting for an index.
//   - audit_tile: the hashes of the Merkle tree in the tiles of
//     c2sp.org/tlog-tiles (level, index), each row up to 256 hashes; the
//     right-most tile of a level grows as leaves are integrated.
//   - audit_tree: the one row of integrator state: the tree size and its
//     compact range (the roots of the perfect subtrees along the right
//     edge), from which the next leaves are hashed in.
//   - audit_checkpoint: the latest signed checkpoint (c2sp.org/tlog-checkpoint).
//   - audit_key: the log's origin and its Ed25519 note key (c2sp.org/signed-note),
//     made on first start.
func AuditSchema(d Dialect) []string {
	text, big, blob, strict, without, empty := "TEXT NOT NULL", "INTEGER", "BLOB NOT NULL", " STRICT", " STRICT, WITHOUT ROWID", "X''"
	if d == Postgres {
		text, big, blob, strict, without, empty = `text COLLATE "C" NOT NULL`, "bigint", "bytea NOT NULL", "", "", "decode('', 'hex')"
	}
	return []string{
		// queued is the seq of the AuditEvent version: the table is kept
		// in store order, so that verifying reads it beside resource_version
		// in one sequential pass instead of a lookup per version.
		"CREATE TABLE audit_leaf (queued " + big + " PRIMARY KEY, ae_version " + big + " NOT NULL, idx " + big +
			", ae_id " + text + ", salt " + blob + ", entry " + blob + ")" + strict,
		"CREATE UNIQUE INDEX audit_leaf_ae ON audit_leaf (ae_id, ae_version)",
		// Leaves in tree order: tiles, entry bundles, proofs and verify.
		// NULL (queued) may repeat in a unique index on both databases.
		"CREATE UNIQUE INDEX audit_leaf_idx ON audit_leaf (idx)",
		// The queue the integrator takes from, in the order it was filled.
		"CREATE INDEX audit_leaf_queued ON audit_leaf (queued) WHERE idx IS NULL",
		"CREATE TABLE audit_tile (level " + big + " NOT NULL, idx " + big + " NOT NULL, hashes " + blob + ", PRIMARY KEY (level, idx))" + without,
		"CREATE TABLE audit_tree (id " + big + " PRIMARY KEY, size " + big + " NOT NULL, edge " + blob + ")" + strict,
		"INSERT INTO audit_tree (id, size, edge) VALUES (1, 0, " + empty + ")",
		"CREATE TABLE audit_checkpoint (id " + big + " PRIMARY KEY, size " + big + " NOT NULL, note " + text + ")" + strict,
		"CREATE TABLE audit_key (id " + big + " PRIMARY KEY, origin " + text + ", signer " + text + ", verifier " + text + ", created " + big + " NOT NULL)" + strict,
	}
}
