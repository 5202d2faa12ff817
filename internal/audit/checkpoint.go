package audit

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/transparency-dev/merkle/compact"
	"golang.org/x/mod/sumdb/note"
)

// Checkpoint is a signed tree head (c2sp.org/tlog-checkpoint): the log's
// origin, the tree size and the RFC 6962 root hash, as a signed note.
type Checkpoint struct {
	Origin string
	Size   uint64
	Root   []byte
	// Note is the signed note exactly as served at /log/checkpoint.
	Note []byte
}

// sign makes the checkpoint of the tree rng covers.
func (l *Log) sign(rng *compact.Range) (Checkpoint, error) {
	cp := Checkpoint{Origin: l.origin, Size: rng.End(), Root: rootOf(rng)}
	msg, err := note.Sign(&note.Note{Text: checkpointText(cp.Origin, cp.Size, cp.Root)}, l.signer)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit: sign the checkpoint: %w", err)
	}
	cp.Note = msg
	return cp, nil
}

// checkpointText is the note text of a checkpoint: origin, size and
// base64 root hash, each on its own line, without extension lines.
func checkpointText(origin string, size uint64, root []byte) string {
	return origin + "\n" + strconv.FormatUint(size, 10) + "\n" + base64.StdEncoding.EncodeToString(root) + "\n"
}

// OpenCheckpoint verifies a signed checkpoint with v and parses it. It
// fails unless v's signature verifies, the origin is v's name, and the
// text is exactly origin, size (decimal, no leading zeros) and a base64
// 32-byte root, each followed by a newline; extension lines are accepted
// and ignored (c2sp.org/tlog-checkpoint).
func OpenCheckpoint(msg []byte, v note.Verifier) (Checkpoint, error) {
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit: checkpoint signature: %w", err)
	}
	lines := strings.SplitAfter(n.Text, "\n")
	if len(lines) < 4 || lines[len(lines)-1] != "" {
		return Checkpoint{}, errors.New("audit: checkpoint text is not origin, size and root hash lines")
	}
	origin := strings.TrimSuffix(lines[0], "\n")
	sizeText := strings.TrimSuffix(lines[1], "\n")
	size, err := strconv.ParseUint(sizeText, 10, 64)
	if err != nil || strconv.FormatUint(size, 10) != sizeText {
		return Checkpoint{}, fmt.Errorf("audit: checkpoint size %q is not a decimal number", sizeText)
	}
	root, err := base64.StdEncoding.Strict().DecodeString(strings.TrimSuffix(lines[2], "\n"))
	if err != nil || len(root) != hashSize {
		return Checkpoint{}, errors.New("audit: checkpoint root hash is not 32 bytes of base64")
	}
	for _, ext := range lines[3 : len(lines)-1] {
		if ext == "\n" {
			return Checkpoint{}, errors.New("audit: checkpoint has an empty extension line")
		}
	}
	if origin != v.Name() {
		return Checkpoint{}, fmt.Errorf("audit: checkpoint origin %q is not the key's name %q", origin, v.Name())
	}
	return Checkpoint{Origin: origin, Size: size, Root: root, Note: msg}, nil
}

// Checkpoint returns the latest signed checkpoint, after checking its
// signature with the log's key.
func (l *Log) Checkpoint(ctx context.Context) (Checkpoint, error) {
	msg, err := latestCheckpoint(ctx, l.db)
	if err != nil {
		return Checkpoint{}, err
	}
	return OpenCheckpoint(msg, l.verifier)
}

func latestCheckpoint(ctx context.Context, db DB) ([]byte, error) {
	var msg string
	err := db.QueryShared(ctx, "SELECT note FROM audit_checkpoint WHERE id = 1", nil, func(scan func(...any) error) error {
		return scan(&msg)
	})
	if err != nil {
		return nil, fmt.Errorf("audit: read the checkpoint: %w", err)
	}
	if msg == "" {
		return nil, errors.New("audit: the log has no checkpoint")
	}
	return []byte(msg), nil
}
