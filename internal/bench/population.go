package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/nhs-junction/junction/internal/synth"
)

// readSample is how many resource ids the read scenario draws from. The
// bare-handler baseline holds their bytes in memory, so the sample is
// bounded; 10,000 is every resource of the default population and still
// far more than fits in any per-request cache.
const readSample = 10000

// Transaction bundles: txBundles distinct bodies of txEntries entries,
// cycled by the clients.
const (
	txBundles = 16
	txEntries = 100
)

// population is the synthetic population, prepared on disk before any
// clock starts so that generating it costs nothing in a measured run.
// Group 0 holds the shared resources (organisations, practitioners), group
// i the record of patient i-1. Each group is a transaction Bundle file
// (what ingest POSTs) and a raw file of "Type/id<TAB>json" lines (what the
// raw-insert baseline inserts), so both load exactly the same JSON bytes
// without holding a large population in memory.
type population struct {
	dir       string
	groups    int
	resources int64
	jsonBytes int64
	// sample holds "Type/id" of up to readSample resources, drawn uniformly.
	sample   []string
	patients []patient
	// observations are Observation bodies for the transaction scenario.
	observations [][]byte
	// obsCodes counts the Observations of each system|code, and obsYears
	// those made in each year, so the broad searches can ask for the most
	// common code and a recent range holding a good share of them.
	obsCodes map[string]int
	obsYears map[int]int
}

// commonCode is the system|code most Observations carry ("" when there
// are none).
func (p *population) commonCode() string {
	best, n := "", 0
	for c, k := range p.obsCodes {
		if k > n || (k == n && c < best) {
			best, n = c, k
		}
	}
	return best
}

// recentYear is the latest year such that Observations made in it or
// later are at least a tenth of all (0 when there are none): the start
// of a broad date range.
func (p *population) recentYear() int {
	total := 0
	years := make([]int, 0, len(p.obsYears))
	for y, k := range p.obsYears {
		total += k
		years = append(years, y)
	}
	slices.Sort(years)
	seen := 0
	for i := len(years) - 1; i >= 0; i-- {
		seen += p.obsYears[years[i]]
		if seen*10 >= total {
			return years[i]
		}
	}
	return 0
}

// patient holds the values the search and $everything scenarios put in
// their queries; empty when the record has no such value.
type patient struct {
	id, family, nhs string
	// resources is the size of the patient's record (the resources of
	// its group), for choosing $everything patients of a given size.
	resources int
	obsCode   string // system|code of one of the patient's Observations
	// topCode is the system|code the patient has most Observations of
	// (a NEWS2 score or a vital sign in a long record).
	topCode  string
	topCodes map[string]int
	obsYear  int    // the year that Observation was made
	condCode string // system|code of one of the patient's Conditions
}

const nhsNumberSystem = "https://fhir.nhs.uk/Id/nhs-number"

func (p *population) bundlePath(group int) string {
	return filepath.Join(p.dir, fmt.Sprintf("g%07d.json", group))
}

func (p *population) rawPath(group int) string {
	return filepath.Join(p.dir, fmt.Sprintf("g%07d.raw", group))
}

// rawRecord is one resource of the raw baseline: its key and JSON.
type rawRecord struct {
	key  string // Type/id
	body []byte
}

// readRaw returns the records of one group.
func (p *population) readRaw(group int) ([]rawRecord, error) {
	b, err := os.ReadFile(p.rawPath(group))
	if err != nil {
		return nil, err
	}
	var out []rawRecord
	for line := range bytes.Lines(b) {
		key, body, ok := bytes.Cut(bytes.TrimSuffix(line, []byte{'\n'}), []byte{'\t'})
		if !ok {
			return nil, fmt.Errorf("bench: malformed line in %s", p.rawPath(group))
		}
		out = append(out, rawRecord{key: string(key), body: body})
	}
	return out, nil
}

// preparePopulation generates the population for (patients, seed) into dir.
func preparePopulation(ctx context.Context, dir string, patients int, seed int64) (*population, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	g := synth.New(synth.Options{Patients: patients, Seed: seed})
	p := &population{dir: dir, groups: patients + 1, obsCodes: map[string]int{}, obsYears: map[int]int{}}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
	var seen int64
	for group := range p.groups {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var batch [][]byte
		if group == 0 {
			batch = g.Shared()
		} else {
			batch = g.Patient(group - 1)
		}
		pat := patient{}
		err := p.writeGroup(group, batch, func(typ, id string, body []byte) error {
			seen++
			key := typ + "/" + id
			// Reservoir sampling keeps every resource equally likely to
			// be read, whatever the population's size.
			if len(p.sample) < readSample {
				p.sample = append(p.sample, key)
			} else if j := rng.Int64N(seen); j < readSample {
				p.sample[j] = key
			}
			if typ == "Observation" && len(p.observations) < txBundles*txEntries {
				p.observations = append(p.observations, body)
			}
			if typ == "Observation" {
				if err := p.learnObservation(body); err != nil {
					return err
				}
			}
			if group > 0 {
				pat.resources++
				return pat.learn(typ, id, body)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if group > 0 {
			n := 0
			for c, k := range pat.topCodes {
				if k > n || (k == n && c < pat.topCode) {
					pat.topCode, n = c, k
				}
			}
			pat.topCodes = nil
			p.patients = append(p.patients, pat)
		}
	}
	return p, nil
}

// writeGroup writes one group's bundle and raw files, calling each for
// every resource.
func (p *population) writeGroup(group int, batch [][]byte, each func(typ, id string, body []byte) error) error {
	bf, err := os.Create(p.bundlePath(group))
	if err != nil {
		return err
	}
	defer bf.Close()
	rf, err := os.Create(p.rawPath(group))
	if err != nil {
		return err
	}
	defer rf.Close()
	bw, rw := bufio.NewWriter(bf), bufio.NewWriter(rf)
	// The bundle is a transaction of PUTs at the generator's ids, the
	// shape `junction synth --format bundles` writes.
	bw.WriteString(`{"resourceType":"Bundle","type":"transaction","entry":[`)
	for k, body := range batch {
		var head struct {
			ResourceType string `json:"resourceType"`
			ID           string `json:"id"`
		}
		if err := json.Unmarshal(body, &head); err != nil {
			return fmt.Errorf("bench: generated resource: %w", err)
		}
		if bytes.ContainsAny(body, "\n\t") {
			return fmt.Errorf("bench: generated %s/%s is not compact JSON", head.ResourceType, head.ID)
		}
		if k > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString(`{"fullUrl":"urn:uuid:` + head.ID + `","resource":`)
		bw.Write(body)
		bw.WriteString(`,"request":{"method":"PUT","url":"` + head.ResourceType + "/" + head.ID + `"}}`)
		rw.WriteString(head.ResourceType + "/" + head.ID + "\t")
		rw.Write(body)
		rw.WriteByte('\n')
		p.resources++
		p.jsonBytes += int64(len(body))
		if err := each(head.ResourceType, head.ID, body); err != nil {
			return err
		}
	}
	bw.WriteString("]}")
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := rw.Flush(); err != nil {
		return err
	}
	if err := bf.Close(); err != nil {
		return err
	}
	return rf.Close()
}

// learnObservation counts an Observation's first code and its year.
func (p *population) learnObservation(body []byte) error {
	var r struct {
		Code              struct{ Coding []coding }
		EffectiveDateTime string
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return err
	}
	if len(r.Code.Coding) > 0 {
		p.obsCodes[r.Code.Coding[0].System+"|"+r.Code.Coding[0].Code]++
	}
	if len(r.EffectiveDateTime) >= 4 {
		if y, err := strconv.Atoi(r.EffectiveDateTime[:4]); err == nil {
			p.obsYears[y]++
		}
	}
	return nil
}

type coding struct {
	System string `json:"system"`
	Code   string `json:"code"`
}

// learn records the query values a resource of the patient's record offers.
func (pt *patient) learn(typ, id string, body []byte) error {
	switch typ {
	case "Patient":
		if pt.id != "" {
			return nil
		}
		var r struct {
			Identifier []struct{ System, Value string }
			Name       []struct{ Family string }
		}
		if err := json.Unmarshal(body, &r); err != nil {
			return err
		}
		pt.id = id
		for _, n := range r.Name {
			if n.Family != "" {
				pt.family = n.Family
				break
			}
		}
		for _, idf := range r.Identifier {
			if idf.System == nhsNumberSystem {
				pt.nhs = idf.Value
			}
		}
	case "Observation":
		var r struct {
			Code              struct{ Coding []coding }
			EffectiveDateTime string
		}
		if err := json.Unmarshal(body, &r); err != nil {
			return err
		}
		if len(r.Code.Coding) > 0 {
			if pt.topCodes == nil {
				pt.topCodes = map[string]int{}
			}
			pt.topCodes[r.Code.Coding[0].System+"|"+r.Code.Coding[0].Code]++
		}
		if pt.obsCode != "" {
			return nil
		}
		if len(r.Code.Coding) > 0 && len(r.EffectiveDateTime) >= 4 {
			var year int
			if _, err := fmt.Sscanf(r.EffectiveDateTime[:4], "%d", &year); err == nil {
				pt.obsCode = r.Code.Coding[0].System + "|" + r.Code.Coding[0].Code
				pt.obsYear = year
			}
		}
	case "Condition":
		if pt.condCode != "" {
			return nil
		}
		var r struct{ Code struct{ Coding []coding } }
		if err := json.Unmarshal(body, &r); err != nil {
			return err
		}
		if len(r.Code.Coding) > 0 {
			pt.condCode = r.Code.Coding[0].System + "|" + r.Code.Coding[0].Code
		}
	}
	return nil
}
