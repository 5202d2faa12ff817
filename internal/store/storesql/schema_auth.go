package storesql

import "strings"

// AuthSchema returns the statements that create the tables of the
// built-in OAuth 2.0 authorisation server (package authn) for dialect d.
// Every table name starts with auth_. Times are seconds since the epoch,
// flags are 0 or 1, and lists (scopes, roles, redirect URIs, patients) are
// space-separated text: none of them is ever searched inside.
//
// Secrets are never stored as issued: authorisation codes and refresh
// tokens are kept as their SHA-256 (a database leak must not hand out
// live tokens), passwords as an argon2id hash. auth_key holds the
// server's private signing keys in PKCS#8 PEM; protect the database as
// you would the key.
func AuthSchema(d Dialect) []string {
	text, num, strict := "TEXT NOT NULL DEFAULT ''", "INTEGER NOT NULL DEFAULT 0", " STRICT"
	if d == Postgres {
		text, num, strict = `text COLLATE "C" NOT NULL DEFAULT ''`, "bigint NOT NULL DEFAULT 0", ""
	}
	stmts := []string{
		// Signing keys: the newest key with retired = 0 signs; every key
		// whose expires is 0 or in the future is published and verifies.
		`CREATE TABLE auth_key (
			kid TEXT_ PRIMARY KEY,
			alg TEXT_,
			private_pem TEXT_,
			created NUM_,
			retired NUM_,
			expires NUM_
		)STRICT_`,
		`CREATE TABLE auth_user (
			id TEXT_ PRIMARY KEY,
			username TEXT_ UNIQUE,
			kind TEXT_,
			name TEXT_,
			password_hash TEXT_,
			ods TEXT_,
			roles TEXT_,
			practitioner TEXT_,
			patients TEXT_,
			disabled NUM_,
			created NUM_
		)STRICT_`,
		`CREATE TABLE auth_client (
			id TEXT_ PRIMARY KEY,
			name TEXT_,
			kind TEXT_,
			public NUM_,
			jwks TEXT_,
			jwks_url TEXT_,
			redirect_uris TEXT_,
			scopes TEXT_,
			ods TEXT_,
			disabled NUM_,
			created NUM_
		)STRICT_`,
		// Client assertion ids seen, kept until the assertion expires
		// (SMART Backend Services: replay of a jti is refused).
		`CREATE TABLE auth_jti (
			client_id TEXT_,
			jti TEXT_,
			expires NUM_,
			PRIMARY KEY (client_id, jti)
		)STRICT_`,
		`CREATE INDEX auth_jti_expires ON auth_jti (expires)`,
		// EHR launch contexts, referred to by the opaque launch parameter.
		`CREATE TABLE auth_launch (
			id TEXT_ PRIMARY KEY,
			user_id TEXT_,
			patient TEXT_,
			encounter TEXT_,
			expires NUM_
		)STRICT_`,
		// Authorisation codes (RFC 6749 section 4.1), single use.
		`CREATE TABLE auth_code (
			code_hash TEXT_ PRIMARY KEY,
			grant_id TEXT_,
			client_id TEXT_,
			user_id TEXT_,
			redirect_uri TEXT_,
			scopes TEXT_,
			patient TEXT_,
			encounter TEXT_,
			challenge TEXT_,
			nonce TEXT_,
			auth_time NUM_,
			expires NUM_,
			used NUM_
		)STRICT_`,
		// Refresh tokens, rotated at every use; a grant_id ties together
		// every refresh token descended from one authorisation.
		`CREATE TABLE auth_refresh (
			token_hash TEXT_ PRIMARY KEY,
			grant_id TEXT_,
			client_id TEXT_,
			user_id TEXT_,
			scopes TEXT_,
			patient TEXT_,
			encounter TEXT_,
			auth_time NUM_,
			offline NUM_,
			expires NUM_,
			used NUM_
		)STRICT_`,
		`CREATE INDEX auth_refresh_grant ON auth_refresh (grant_id)`,
	}
	r := strings.NewReplacer("TEXT_", text, "NUM_", num, "STRICT_", strict)
	for i, s := range stmts {
		stmts[i] = r.Replace(s)
	}
	return stmts
}
