// Package audit records who did what to which record, and proves that the
// record of it was never changed or removed.
//
// Two halves:
//
//   - Event and Events build FHIR R4 AuditEvents following IHE Basic Audit
//     Log Patterns (BALP, https://profiles.ihe.net/ITI/BALP): one per
//     interaction and patient, with the user, organisation, client,
//     network address, purpose of use, break-glass reason and outcome.
//     They are stored as ordinary resource versions, in the same database
//     transaction as the write they record.
//   - Log is a transparency log over those versions: every AuditEvent
//     version is a leaf of an append-only Merkle tree hashed as RFC 6962
//     (RFC 9162 section 2.1) describes, published as the static tiles of
//     c2sp.org/tlog-tiles with checkpoints signed in the c2sp.org/signed-note
//     format by an Ed25519 key the log makes on first start. Queue commits
//     an AuditEvent to the log inside the writer's transaction without any
//     lock shared by writers; the integrator (Log.Run) gives queued leaves
//     their indices in the background, in order, and signs a checkpoint.
//     Verify recomputes everything from the database, offline.
//
// The leaf data (the entry) of an AuditEvent version is
// SHA-256(salt || body): the 32-byte salt is random per leaf and kept in
// the database, so the published entries reveal nothing about the
// AuditEvents (not even a guessed one can be confirmed), while anyone
// holding an AuditEvent, its salt and an inclusion proof can check it
// against a signed checkpoint.
//
// The package never imports the interaction or HTTP layers; it reaches the
// database only through the SQL the backends share (QueryShared,
// ExecShared) on internal/store's transactions.
package audit
