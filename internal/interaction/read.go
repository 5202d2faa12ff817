package interaction

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/store"
)

func (s *Service) read(ctx context.Context, req *Request) (*Response, error) {
	v, err := s.readVisible(ctx, req, req.Type, req.ID, 0)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound(req.Type, req.ID)
	}
	if err != nil {
		return nil, err
	}
	if v.Deleted {
		return nil, gone(v)
	}
	if notModified(req, v) {
		return &Response{Status: http.StatusNotModified, Version: &v}, nil
	}
	body, err := s.present(req, v.Body)
	if err != nil {
		return nil, err
	}
	return &Response{Status: http.StatusOK, Body: body, Version: &v}, nil
}

func (s *Service) vread(ctx context.Context, req *Request) (*Response, error) {
	n, err := strconv.ParseInt(req.VersionID, 10, 64)
	if err != nil || n < 1 {
		return nil, fhir.Errorf(404, fhir.IssueNotFound, "%s/%s has no version %q", req.Type, req.ID, clip(req.VersionID))
	}
	v, err := s.readVisible(ctx, req, req.Type, req.ID, n)
	if errors.Is(err, store.ErrNotFound) {
		if _, err := s.readVisible(ctx, req, req.Type, req.ID, 0); errors.Is(err, store.ErrNotFound) {
			return nil, notFound(req.Type, req.ID)
		} else if err != nil {
			return nil, err
		}
		return nil, fhir.Errorf(404, fhir.IssueNotFound, "%s/%s has no version %d", req.Type, req.ID, n)
	}
	if err != nil {
		return nil, err
	}
	if v.Deleted {
		return nil, gone(v)
	}
	if notModified(req, v) {
		return &Response{Status: http.StatusNotModified, Version: &v}, nil
	}
	body, err := s.present(req, v.Body)
	if err != nil {
		return nil, err
	}
	return &Response{Status: http.StatusOK, Body: body, Version: &v}, nil
}

func notFound(typ, id string) *fhir.Error {
	return fhir.Errorf(404, fhir.IssueNotFound, "%s/%s is not known", typ, id)
}

// gone reports a deleted resource; the ETag names the tombstone version so
// a client can tell which delete it saw.
func gone(v store.Version) *fhir.Error {
	e := fhir.Errorf(410, fhir.IssueDeleted, "%s/%s was deleted (version %d)", v.Type, v.ID, v.Version)
	e.Header = http.Header{"Etag": {ETag(v.Version)}, "Last-Modified": {v.LastUpdated.UTC().Format(http.TimeFormat)}}
	return e
}

// ETag renders a version as the weak entity tag FHIR uses.
func ETag(version int64) string {
	return `W/"` + strconv.FormatInt(version, 10) + `"`
}

// ParseETag reads a version from an entity tag: W/"3", "3" or 3.
func ParseETag(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "W/")
	s = strings.Trim(s, `"`)
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n > 0
}

// notModified applies If-None-Match (which wins when present, RFC 9110
// 13.1.3) and If-Modified-Since to a read.
func notModified(req *Request, v store.Version) bool {
	if req.IfNoneMatch != "" {
		for _, tag := range strings.Split(req.IfNoneMatch, ",") {
			tag = strings.TrimSpace(tag)
			if tag == "*" {
				return true
			}
			if n, ok := ParseETag(tag); ok && n == v.Version {
				return true
			}
		}
		return false
	}
	if !req.IfModifiedSince.IsZero() {
		// HTTP dates have one-second resolution.
		return !v.LastUpdated.Truncate(time.Second).After(req.IfModifiedSince)
	}
	return false
}
