// Package imagingtest is a test double of an imaging triage model
// service that behaves like a real one: it speaks the HTTP contract of
// package imaging, takes time to answer, and can be told to fail with
// 5xx, to hang past the client's timeout, or to answer out of contract,
// per study and per attempt.
package imagingtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/nhs-junction/junction/internal/imaging"
)

// Behaviour is how the model answers for one study. Zero: a score.
type Behaviour struct {
	Score   float64
	Finding imaging.Coding
	// Latency is how long each answer takes.
	Latency time.Duration
	// Fail5xx answers HTTP 503 to the first Fail5xx attempts (then the
	// score); -1 fails every attempt.
	Fail5xx int
	// Hang never answers (until the client gives up).
	Hang bool
	// Malformed answers 200 with this body instead of the score.
	Malformed string
}

// Model is the running double.
type Model struct {
	*httptest.Server
	Name, Version string

	mu       sync.Mutex
	by       map[string]Behaviour // by study id
	attempts map[string]int
	requests []imaging.ModelRequest
}

// Default finding: intracranial haemorrhage (SNOMED CT 1386000).
var Haemorrhage = imaging.Coding{System: "http://snomed.info/sct", Code: "1386000", Display: "Intracranial haemorrhage"}

// New starts a model; Close it when done.
func New() *Model {
	m := &Model{Name: "junction-test-ich-detector", Version: "2.1.0", by: map[string]Behaviour{}, attempts: map[string]int{}}
	m.Server = httptest.NewServer(http.HandlerFunc(m.serve))
	return m
}

// Set says how the model answers for the study with id.
func (m *Model) Set(id string, b Behaviour) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.by[id] = b
}

// Attempts is how many requests the model got for a study.
func (m *Model) Attempts(id string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.attempts[id]
}

// Requests returns the requests received.
func (m *Model) Requests() []imaging.ModelRequest {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]imaging.ModelRequest(nil), m.requests...)
}

func (m *Model) serve(w http.ResponseWriter, r *http.Request) {
	var req imaging.ModelRequest
	if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&req) != nil || req.ImagingStudy.Reference == "" {
		http.Error(w, `{"error":"POST a ModelRequest"}`, http.StatusBadRequest)
		return
	}
	i := strings.LastIndex(req.ImagingStudy.Reference, "/ImagingStudy/")
	if i < 0 {
		http.Error(w, `{"error":"not an ImagingStudy reference"}`, http.StatusBadRequest)
		return
	}
	id := req.ImagingStudy.Reference[i+len("/ImagingStudy/"):]
	m.mu.Lock()
	m.attempts[id]++
	n := m.attempts[id]
	m.requests = append(m.requests, req)
	b := m.by[id]
	m.mu.Unlock()
	if b.Hang {
		<-r.Context().Done()
		return
	}
	select {
	case <-time.After(b.Latency):
	case <-r.Context().Done():
		return
	}
	if b.Fail5xx < 0 || n <= b.Fail5xx {
		http.Error(w, `{"error":"model overloaded"}`, http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if b.Malformed != "" {
		fmt.Fprint(w, b.Malformed)
		return
	}
	f := b.Finding
	if f.Code == "" {
		f = Haemorrhage
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"score": b.Score, "finding": f,
		"model": map[string]string{"name": m.Name, "version": m.Version}})
}
