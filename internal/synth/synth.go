// Package synth generates a deterministic synthetic UK population as FHIR
// R4 JSON: GP practices, acute trusts and specialist centres with their
// staff, and patients whose records span primary, secondary and tertiary
// care (encounters, problems, procedures, medicines, allergies,
// immunisations, NEWS2 vital signs, laboratory and imaging results, and
// referrals with RTT dates).
//
// The same Options always produce the same bytes: every value comes from a
// hash of (Seed, patient index, position), and dates are relative to the
// fixed Epoch, never to the wall clock. Each patient's record is generated
// independently of every other patient's, so any patient can be
// regenerated alone and a population can be generated in parallel.
//
// The data is for testing and benchmarking only. NHS numbers are valid
// Modulus 11 numbers in the 999 range described as never issued;
// organisation names are fictional and ODS-shaped codes are invented;
// telephone numbers are in Ofcom's ranges reserved for drama.
package synth

import (
	"encoding/json"
	"fmt"

	"github.com/nhs-junction/junction/internal/identity/nhsnumber"
)

// Options describe a population. The zero Seed is a valid seed.
type Options struct {
	// Patients is the number of patients, 0 to MaxPatients.
	Patients int
	// Seed selects the population; different seeds give different
	// people, ids and records.
	Seed int64
}

// MaxPatients is the most patients one population can hold: one for each
// NHS number nhsnumber.FromSerial can make.
const MaxPatients = nhsnumber.Serials

// Generator produces the resources of one population. It is immutable
// after New and safe for concurrent use.
type Generator struct {
	seed      int64
	n         int
	practices []org
	trusts    []org
	centres   []org
}

// New returns the generator for opts. It panics if opts.Patients is
// negative or above MaxPatients; Write reports the same as an error.
func New(opts Options) *Generator {
	if opts.Patients < 0 || opts.Patients > MaxPatients {
		panic(fmt.Sprintf("synth: Patients = %d, want 0 to %d", opts.Patients, MaxPatients))
	}
	g := &Generator{seed: opts.Seed, n: opts.Patients}
	g.buildShared()
	return g
}

// Patients returns the number of patients in the population.
func (g *Generator) Patients() int { return g.n }

// item is one generated resource with the type and id needed to file it
// (NDJSON by type) or address it (a transaction entry's request.url).
type item struct {
	typ, id string
	data    []byte
}

func marshal(typ, id string, v any) item {
	b, err := json.Marshal(v)
	if err != nil {
		// Every value is built from the structs in this package, which
		// always marshal; failing here is a bug in the generator.
		panic(fmt.Sprintf("synth: marshal %s/%s: %v", typ, id, err))
	}
	return item{typ: typ, id: id, data: b}
}

// Shared returns the resources every patient refers to, each as one JSON
// resource: Organizations (practices, trusts, specialist centres, with
// ODS codes), Locations, Practitioners (GMC or NMC numbers and SDS user
// ids) and PractitionerRoles (SDS job role and national RBAC role codes).
// Load them before any patient. The result is the same on every call.
func (g *Generator) Shared() [][]byte {
	return payloads(g.sharedResources())
}

// Patient returns every resource of patient i, 0 <= i < Patients(): the
// Patient first, then the problem list and allergies, then encounters in
// date order, each followed by what was recorded in it. The
// result depends only on (Seed, i). A resource refers only to resources
// in Shared() or in the same Patient(i). Patient panics if i is out of
// range.
func (g *Generator) Patient(i int) [][]byte {
	return payloads(g.patientItems(i))
}

func payloads(items []item) [][]byte {
	out := make([][]byte, len(items))
	for k, it := range items {
		out[k] = it.data
	}
	return out
}

// streamDuplicate numbers the duplicate-registration decisions apart from
// every other stream.
const streamDuplicate = 1<<62 + 16

// isDuplicate reports whether patient i is a second registration of an
// earlier patient: about 1 in 100, never patient 0.
func (g *Generator) isDuplicate(i int) bool {
	return i > 0 && newRNG(g.seed, streamDuplicate, uint64(i)).chance(0.01)
}

// DuplicateOf reports the ground truth for record matching: if patient i
// is a duplicate registration of the same person at another organisation,
// it returns the index of the original registration (always below i and
// never itself a duplicate) and true. The duplicate carries typical
// clerical slips: transposed letters in a name, day and month of birth
// swapped when both could be months, a differently formatted postcode,
// and in about 40% of cases no NHS number.
func (g *Generator) DuplicateOf(i int) (int, bool) {
	if i < 0 || i >= g.n || !g.isDuplicate(i) {
		return 0, false
	}
	r := newRNG(g.seed, streamDuplicate, uint64(i))
	r.next()
	j := r.intn(i)
	for g.isDuplicate(j) {
		j--
	}
	return j, true
}
