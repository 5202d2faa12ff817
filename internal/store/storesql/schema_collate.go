package storesql

// BytewiseKeys makes the type and id columns of the version tables compare
// bytewise on PostgreSQL, as every other text column of the schema does
// (COLLATE "C"; SQLite's BINARY is bytewise already, so it has nothing to
// do). PostgreSQL uses a btree index only for comparisons in the index's
// own collation: joined with the index tables' "C" columns, the
// database-collated (type, id) key of resource_version could not be looked
// up, and an _include or a chain hashed every version instead of reading
// the few it names.
func BytewiseKeys(d Dialect) []string {
	if d != Postgres {
		return nil
	}
	return []string{
		`ALTER TABLE resource_version ALTER COLUMN type TYPE text COLLATE "C", ALTER COLUMN id TYPE text COLLATE "C"`,
		`ALTER TABLE resource ALTER COLUMN type TYPE text COLLATE "C", ALTER COLUMN id TYPE text COLLATE "C"`,
		// Rewriting the columns drops their statistics; without them the
		// planner takes a common type for a rare one.
		`ANALYZE resource_version`,
		`ANALYZE resource`,
	}
}
