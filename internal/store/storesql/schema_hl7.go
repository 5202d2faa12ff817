package storesql

// HL7Schema returns the statements that create the HL7 v2 message store
// for dialect d (one migration of both backends). The feed package fills
// and reads it.
//
// hl7_message keeps every message received, byte for byte, with what
// became of it: status is applied, errored (well formed but not applied:
// the AE it was answered with is in ack and the reason in error),
// rejected (unreadable: answered AR) or duplicate (a control id already
// received from the same sender, answered with the first outcome's
// acknowledgement again and not applied). refs lists, space separated,
// the resources (Type/id) the message wrote.
//
// The unique index on (sending_app, sending_facility, control_id) over
// applied and errored rows is what makes a message apply at most once
// (HL7 v2.5.1 2.10.1, MSH-10 "the receiving system echoes this ID back"
// and the NHS rule of de-duplicating on MSH-3, MSH-4, MSH-10): the row is
// inserted in the same database transaction as the resources, so two
// connections racing on one control id cannot both commit. Rejected and
// duplicate rows are outside it: a rejected message may be sent again
// once fixed, and duplicates are a log.
func HL7Schema(d Dialect) []string {
	id, big, text, blob, strict := "id INTEGER PRIMARY KEY", "INTEGER", "TEXT", "BLOB", " STRICT"
	if d == Postgres {
		id, big, text, blob, strict = "id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "bigint", `text COLLATE "C"`, "bytea", ""
	}
	return []string{
		`CREATE TABLE hl7_message (
			` + id + `,
			sending_app      ` + text + ` NOT NULL,
			sending_facility ` + text + ` NOT NULL,
			control_id       ` + text + ` NOT NULL,
			message_type     ` + text + ` NOT NULL,
			trigger_event    ` + text + ` NOT NULL,
			version          ` + text + ` NOT NULL,
			received_at      ` + big + ` NOT NULL, -- microseconds since the epoch, UTC
			status           ` + text + ` NOT NULL,
			error            ` + text + ` NOT NULL,
			error_code       ` + text + ` NOT NULL, -- HL7 table 0357
			nhs_number       ` + text + ` NOT NULL,
			refs             ` + text + ` NOT NULL,
			remote           ` + text + ` NOT NULL,
			attempts         ` + big + ` NOT NULL,
			applied_at       ` + big + ` NOT NULL, -- 0 until applied
			raw              ` + blob + ` NOT NULL,
			ack              ` + blob + ` NOT NULL
		)` + strict,
		`CREATE UNIQUE INDEX hl7_message_key ON hl7_message (sending_app, sending_facility, control_id) WHERE status IN ('applied', 'errored')`,
		`CREATE INDEX hl7_message_received ON hl7_message (received_at, id)`,
		`CREATE INDEX hl7_message_status ON hl7_message (status, received_at, id)`,
		`CREATE INDEX hl7_message_control ON hl7_message (control_id)`,
		`CREATE INDEX hl7_message_nhs ON hl7_message (nhs_number, received_at) WHERE nhs_number <> ''`,
	}
}
