package news2obs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/search"
	"github.com/nhs-junction/junction/internal/searchparam"
	"github.com/nhs-junction/junction/internal/store"
)

// Searcher searches inside a write transaction, seeing its own writes;
// *search.Engine is one.
type Searcher interface {
	SearchTx(ctx context.Context, tx store.Tx, q *searchparam.Query, opt search.Options) (*search.Result, error)
}

// Deriver keeps the NEWS2 Observations in step with the vital signs they
// are derived from. It implements interaction.Deriver.
type Deriver struct {
	search Searcher
	reg    searchparam.Registry
}

// New returns a Deriver that finds inputs through s, parsing its searches
// against reg (the R4 search parameters).
func New(s Searcher, reg searchparam.Registry) *Deriver {
	return &Deriver{search: s, reg: reg}
}

// maxInputs bounds the inputs one window may hold: far more than any
// bedside or monitor feed records in 30 minutes. A window with more
// fails the write rather than scoring from part of it.
const maxInputs = searchparam.MaxCount

// Derive stores, in tx, the NEWS2 Observation of every set the written
// versions complete or change, and removes those whose set is no longer
// complete (see Set). A written Observation is looked at when it is an
// input now, and, when it had an earlier version, through the NEWS2
// Observations derived from it (derived-from), which finds its old
// patient and time after a change of either and after a delete. A
// client's write to a derived NEWS2 Observation is refused with 409: the
// score follows its inputs and is changed by changing them.
func (d *Deriver) Derive(ctx context.Context, tx store.Tx, written []store.Version) error {
	spans := map[string][]span{}         // patient -> anchor spans to recompute
	explicit := map[string][]time.Time{} // patient -> anchors of existing NEWS2 to recompute
	for _, v := range written {
		if v.Type != "Observation" {
			continue
		}
		if strings.HasPrefix(v.ID, IDPrefix) {
			return fhir.Errorf(409, fhir.IssueConflict, "Observation/%s is a NEWS2 score Junction calculates from the vital signs it is derived from; change those observations instead", v.ID)
		}
		if in, ok := ParseInput(v); ok {
			spans[in.Patient] = append(spans[in.Patient], span{in.Time, in.Time.Add(Window)})
		}
		if v.Version > 1 {
			olds, err := d.find(ctx, tx, "Observation", []searchparam.Param{
				{Name: "derived-from", Value: "Observation/" + v.ID},
				{Name: "code", Value: SNOMED + "|" + CodeNEWS2},
			})
			if err != nil {
				return err
			}
			for _, o := range olds {
				if p, t, ok := anchorOf(o); ok {
					explicit[p] = append(explicit[p], t)
				}
			}
		}
	}
	patients := make([]string, 0, len(spans)+len(explicit))
	for p := range spans {
		patients = append(patients, p)
	}
	for p := range explicit {
		if _, dup := spans[p]; !dup {
			patients = append(patients, p)
		}
	}
	slices.Sort(patients)
	for _, p := range patients {
		if err := d.patient(ctx, tx, p, spans[p], explicit[p]); err != nil {
			return err
		}
	}
	return nil
}

// span is a closed interval of anchor times.
type span struct{ lo, hi time.Time }

// patient recomputes the sets of patient anchored in spans or at explicit.
func (d *Deriver) patient(ctx context.Context, tx store.Tx, patient string, spans []span, explicit []time.Time) error {
	for _, t := range explicit {
		spans = append(spans, span{t, t})
	}
	// The Scale 2 decisions are read only once a set is complete: most
	// writes complete none, and the search is one more statement inside
	// the write transaction.
	var scale2 []Scale2
	flagsRead := false
	readFlags := func() error {
		if flagsRead {
			return nil
		}
		flagsRead = true
		flags, err := d.find(ctx, tx, "Flag", []searchparam.Param{{Name: "patient", Value: patient}})
		if err != nil {
			return err
		}
		for _, f := range flags {
			if s, ok := ParseScale2(f, patient); ok {
				scale2 = append(scale2, s)
			}
		}
		return nil
	}
	var inputs []Input
	codes := strings.Join(InputCodes(), ",")
	for _, w := range merge(spans) {
		// The inputs that can be in a set anchored in w.
		found, err := d.find(ctx, tx, "Observation", []searchparam.Param{
			{Name: "subject", Value: patient},
			{Name: "code", Value: codes},
			// One second of slack each way: the search compares the
			// effective time at its own precision; the exact window is
			// applied below.
			{Name: "date", Value: "ge" + w.lo.Add(-Window-time.Second).UTC().Format(time.RFC3339)},
			{Name: "date", Value: "le" + w.hi.Add(time.Second).UTC().Format(time.RFC3339)},
			{Name: "_count", Value: fmt.Sprint(maxInputs)},
		})
		if err != nil {
			return err
		}
		for _, v := range found {
			if in, ok := ParseInput(v); ok && in.Patient == patient {
				inputs = append(inputs, in)
			}
		}
	}
	anchors := map[int64]time.Time{}
	for _, in := range inputs {
		for _, s := range spans {
			if !in.Time.Before(s.lo) && !in.Time.After(s.hi) {
				anchors[in.Time.UnixNano()] = in.Time
			}
		}
	}
	for _, t := range explicit {
		anchors[t.UnixNano()] = t // recomputed, or removed when nothing anchors it now
	}
	keys := make([]int64, 0, len(anchors))
	for k := range anchors {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		t := anchors[k]
		set, ok := SetAt(inputs, patient, t)
		var body []byte
		if ok && set.Complete() {
			if err := readFlags(); err != nil {
				return err
			}
			var sc *Scale2
			for i := range scale2 {
				if scale2[i].At(t) {
					sc = &scale2[i]
				}
			}
			var err error
			if body, _, err = Build(set, sc); err != nil {
				return err
			}
		}
		if err := put(ctx, tx, ID(patient, t), body); err != nil {
			return err
		}
	}
	return nil
}

// merge sorts spans and joins those within Window of each other, whose
// input searches would overlap.
func merge(spans []span) []span {
	slices.SortFunc(spans, func(a, b span) int { return a.lo.Compare(b.lo) })
	var out []span
	for _, s := range spans {
		if n := len(out); n > 0 && !s.lo.After(out[n-1].hi.Add(Window)) {
			if s.hi.After(out[n-1].hi) {
				out[n-1].hi = s.hi
			}
			continue
		}
		out = append(out, s)
	}
	return out
}

// put makes body (nil: none) the current NEWS2 Observation id: a new
// version when it differs from the current one, a tombstone when body is
// nil and one exists, nothing otherwise. It refuses to overwrite a
// resource at id that Junction did not derive.
func put(ctx context.Context, tx store.Tx, id string, body []byte) error {
	cur, err := tx.Current(ctx, "Observation", id)
	exists := err == nil && !cur.Deleted
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if exists && !derived(cur.Body) {
		return fhir.Errorf(409, fhir.IssueConflict, "Observation/%s holds a resource Junction did not derive, so the NEWS2 score cannot be stored there", id)
	}
	next := int64(1)
	if err == nil {
		next = cur.Version + 1
	}
	if body == nil {
		if !exists {
			return nil
		}
		_, err := tx.Put(ctx, store.Version{Type: "Observation", ID: id, Version: next, LastUpdated: tx.Now(), Deleted: true})
		return err
	}
	if exists && sameContent(cur.Body, body) {
		return nil
	}
	obj, err := fhir.ParseObject(body)
	if err != nil {
		return err
	}
	now := tx.Now()
	stamped, err := fhir.Stamp(obj, id, next, now)
	if err != nil {
		return err
	}
	_, err = tx.Put(ctx, store.Version{Type: "Observation", ID: id, Version: next, LastUpdated: now, Body: stamped})
	return err
}

// derived reports whether body carries DerivedTag.
func derived(body []byte) bool {
	var r struct {
		Meta struct{ Tag []cdsCoding }
	}
	if json.Unmarshal(body, &r) != nil {
		return false
	}
	for _, t := range r.Meta.Tag {
		if t.System == DerivedTag.System && t.Code == DerivedTag.Code {
			return true
		}
	}
	return false
}

// sameContent compares a stored resource with a freshly built one,
// leaving out what stamping adds (id, meta.versionId, meta.lastUpdated).
func sameContent(stored, built []byte) bool {
	norm := func(b []byte) []byte {
		var m map[string]any
		if json.Unmarshal(b, &m) != nil {
			return nil
		}
		delete(m, "id")
		if meta, ok := m["meta"].(map[string]any); ok {
			delete(meta, "versionId")
			delete(meta, "lastUpdated")
		}
		out, _ := json.Marshal(m)
		return out
	}
	a, b := norm(stored), norm(built)
	return a != nil && bytes.Equal(a, b)
}

// anchorOf reads the patient and anchor time of a derived NEWS2
// Observation.
func anchorOf(v store.Version) (string, time.Time, bool) {
	if !strings.HasPrefix(v.ID, IDPrefix) || !derived(v.Body) {
		return "", time.Time{}, false
	}
	var o observation
	if json.Unmarshal(v.Body, &o) != nil || o.Subject == nil {
		return "", time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, o.EffectiveDateTime)
	if err != nil {
		return "", time.Time{}, false
	}
	return o.Subject.Reference, t, true
}

// find runs a search of typ inside tx and returns every match, failing
// when there are more than one page holds.
func (d *Deriver) find(ctx context.Context, tx store.Tx, typ string, params []searchparam.Param) ([]store.Version, error) {
	if !slices.ContainsFunc(params, func(p searchparam.Param) bool { return p.Name == "_count" }) {
		params = append(params, searchparam.Param{Name: "_count", Value: fmt.Sprint(maxInputs)})
	}
	q, err := searchparam.Parse(d.reg, typ, params, searchparam.Options{})
	if err != nil {
		return nil, fmt.Errorf("news2obs: search %s: %w", typ, err)
	}
	res, err := d.search.SearchTx(ctx, tx, q, search.Options{})
	if err != nil {
		return nil, err
	}
	if res.Next != nil {
		return nil, fhir.Errorf(422, fhir.IssueTooCostly, "More than %d %s resources of one patient fall in one NEWS2 window; the score cannot be calculated", maxInputs, typ)
	}
	return res.Matches, nil
}
