package authn

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Password hashing is argon2id (RFC 9106) with the parameters OWASP's
// Password Storage Cheat Sheet gives as its first choice for argon2id:
// 19 MiB of memory, 2 iterations, 1 lane. A hash is stored in the PHC
// string format, so the parameters can be raised later and old hashes
// still verify.
const (
	argonMemory  = 19 * 1024 // KiB
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// MinPasswordLength is the shortest password accepted: NCSC password
// guidance asks for length over complexity rules.
const MinPasswordLength = 12

// errBadHash reports a stored hash this code cannot read.
var errBadHash = errors.New("authn: unreadable password hash")

// checkPassword reports why a new password is unacceptable, or nil.
func checkPassword(pw string) error {
	if utf8.RuneCountInString(pw) < MinPasswordLength {
		return fmt.Errorf("password must be at least %d characters", MinPasswordLength)
	}
	if len(pw) > 1024 {
		return fmt.Errorf("password must be at most 1024 bytes")
	}
	return nil
}

// hashPassword returns the PHC-format argon2id hash of pw with a fresh salt.
func hashPassword(pw string) string {
	salt := make([]byte, argonSaltLen)
	rand.Read(salt)
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads, enc.EncodeToString(salt), enc.EncodeToString(key))
}

// verifyPassword reports whether pw matches the PHC-format hash, in time
// that does not depend on how much of the hash matched.
func verifyPassword(hash, pw string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errBadHash
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || m > 1<<21 || t == 0 || t > 16 || p == 0 {
		return false, errBadHash
	}
	enc := base64.RawStdEncoding
	salt, err := enc.DecodeString(parts[4])
	if err != nil {
		return false, errBadHash
	}
	want, err := enc.DecodeString(parts[5])
	if err != nil || len(want) < 16 || len(want) > 64 {
		return false, errBadHash
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// dummyHash is verified against when a username is unknown, so that a
// login for a missing user takes as long as one with a wrong password.
var dummyHash = sync.OnceValue(func() string { return hashPassword("not a password anyone has; equalises timing") })
