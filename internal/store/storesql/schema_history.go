package storesql

// HistoryCreated returns migration 5 of both backends: the versions
// written by a create whose id the server assigned (POST [type]), so that
// history reports each version with the interaction that wrote it
// (R4 http.html#history: entry.request). A version 1 not listed was
// written by an update that created the resource (PUT [type]/[id]), or
// by an import, which behaves as one. Versions written before this
// migration are not listed.
func HistoryCreated() []string {
	return []string{"CREATE TABLE history_post (seq bigint PRIMARY KEY)"}
}
