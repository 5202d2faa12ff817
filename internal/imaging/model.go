// Package imaging is the imaging triage worklist: an AI model service
// scores each ImagingStudy for priority, the score is kept as an
// Observation derived from the study (with the model as a Device and a
// Provenance naming it), and ImagingStudy/$worklist lists the studies
// not yet reported, the highest AI priority first, then the longest
// waiting. The model never changes or replaces a DiagnosticReport: a
// study's report is a clinician's.
//
// The HTTP contract of the model service is ModelRequest and
// ModelResponse (README, Imaging triage).
package imaging

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"time"
)

// ModelRequest is the body the server POSTs to the model service's URL
// (Content-Type application/json) for one study.
type ModelRequest struct {
	// RequestID is unique per attempt sequence: a model service may use
	// it to answer a retried request without scoring twice.
	RequestID    string   `json:"requestId"`
	ImagingStudy StudyRef `json:"imagingStudy"`
}

// StudyRef identifies the study and where its images are.
type StudyRef struct {
	// Reference is the study's absolute URL on this server
	// ("https://host/fhir/ImagingStudy/123").
	Reference string `json:"reference"`
	// StudyInstanceUID is the DICOM Study Instance UID (the identifier
	// with system urn:dicom:uid, "urn:oid:" removed).
	StudyInstanceUID string   `json:"studyInstanceUid,omitempty"`
	Modality         []string `json:"modality,omitempty"`
	// Endpoints are the addresses of the study's Endpoints (for example
	// a DICOMweb WADO-RS base) from which the model fetches the images.
	Endpoints []string `json:"endpoint,omitempty"`
	Started   string   `json:"started,omitempty"`
}

// ModelResponse is the model service's answer (HTTP 200, JSON). Every
// field is required; anything else is a malformed answer.
type ModelResponse struct {
	// Score is the priority, 0 (no urgent finding) to 1 (most urgent).
	Score *float64 `json:"score"`
	// Finding codes what the model looked for or found (for example a
	// SNOMED CT concept such as 1386000 intracranial haemorrhage).
	Finding *Coding `json:"finding"`
	Model   *Model  `json:"model"`
}

// Coding is a FHIR Coding.
type Coding struct {
	System  string `json:"system"`
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

// Model names the model that produced a score.
type Model struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Result is a checked model answer.
type Result struct {
	Score   float64
	Finding Coding
	Model   Model
}

// ErrMalformed is wrapped by every answer that breaks the contract. It is
// not retried: the same question would get the same broken answer.
var ErrMalformed = errors.New("malformed model answer")

// check turns a decoded answer into a Result, or says what is wrong.
func (r ModelResponse) check() (Result, error) {
	switch {
	case r.Score == nil:
		return Result{}, fmt.Errorf("%w: no score", ErrMalformed)
	case math.IsNaN(*r.Score) || *r.Score < 0 || *r.Score > 1:
		return Result{}, fmt.Errorf("%w: score %v is not between 0 and 1", ErrMalformed, *r.Score)
	case r.Finding == nil || r.Finding.System == "" || r.Finding.Code == "":
		return Result{}, fmt.Errorf("%w: no finding system and code", ErrMalformed)
	case r.Model == nil || strings.TrimSpace(r.Model.Name) == "" || strings.TrimSpace(r.Model.Version) == "":
		return Result{}, fmt.Errorf("%w: no model name and version", ErrMalformed)
	case len(r.Model.Name) > 200 || len(r.Model.Version) > 64 || len(r.Finding.Code) > 200 || len(r.Finding.System) > 500:
		return Result{}, fmt.Errorf("%w: a field is too long", ErrMalformed)
	}
	return Result{Score: *r.Score, Finding: *r.Finding, Model: *r.Model}, nil
}

// Client calls a model service.
type Client struct {
	URL string
	// Timeout bounds one attempt (default 10s); Attempts is how many are
	// made for a timeout, a network error, HTTP 429 or 5xx (default 3),
	// Backoff the wait before the second (doubling after; default 250ms).
	Timeout  time.Duration
	Attempts int
	Backoff  time.Duration
	HTTP     *http.Client
}

const maxAnswer = 64 << 10

// Score asks the model about one study.
func (c *Client) Score(ctx context.Context, req ModelRequest) (Result, error) {
	timeout, attempts, backoff := c.Timeout, c.Attempts, c.Backoff
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	if attempts <= 0 {
		attempts = 3
	}
	if backoff <= 0 {
		backoff = 250 * time.Millisecond
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	body, err := json.Marshal(req)
	if err != nil {
		return Result{}, err
	}
	var last error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				return Result{}, fmt.Errorf("%v (then cancelled)", last)
			case <-time.After(backoff << (i - 1)):
			}
		}
		res, retry, err := c.once(ctx, hc, body, timeout)
		if err == nil {
			return res, nil
		}
		last = err
		if !retry {
			break
		}
	}
	return Result{}, last
}

// once makes one attempt; retry says whether another may succeed.
func (c *Client) once(ctx context.Context, hc *http.Client, body []byte, timeout time.Duration) (Result, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return Result{}, false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return Result{}, true, fmt.Errorf("the model did not answer within %s", timeout)
		}
		return Result{}, true, fmt.Errorf("the model service is unreachable")
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return Result{}, true, fmt.Errorf("the model did not answer within %s", timeout)
		}
		return Result{}, true, fmt.Errorf("the model's answer was cut off")
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return Result{}, true, fmt.Errorf("the model service answered HTTP %d", resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		return Result{}, false, fmt.Errorf("the model service refused the study: HTTP %d", resp.StatusCode)
	case len(raw) > maxAnswer:
		return Result{}, false, fmt.Errorf("%w: larger than %d bytes", ErrMalformed, maxAnswer)
	}
	res, err := CheckAnswer(raw)
	return res, false, err
}

// CheckAnswer decodes and checks a model service's 200 answer. Every
// error wraps ErrMalformed.
func CheckAnswer(raw []byte) (Result, error) {
	var mr ModelResponse
	if err := json.Unmarshal(raw, &mr); err != nil {
		return Result{}, fmt.Errorf("%w: not JSON of the contract", ErrMalformed)
	}
	return mr.check()
}
