package synth

import (
	"fmt"
)

// The shared part of a population: organisations, their sites, and the
// staff who appear as performers, recorders and requesters. Names are
// fictional; codes are in the real ODS shapes (practice: letter and five
// digits; trust: "R" and two characters) but chosen by the generator, so a
// code may coincide with a real organisation's and must never be loaded
// alongside real data.

type orgKind int

const (
	kindPractice orgKind = iota
	kindTrust
	kindCentre
)

type org struct {
	kind      orgKind
	id, code  string
	name      string
	town      int
	mrnSystem string // the trust's local hospital number namespace
	// sites: for a practice the surgery; for a trust the hospital, its
	// emergency department, a ward and radiology; for a centre the
	// hospital and a ward.
	sites []site
	staff []staffMember
}

type site struct {
	id, name string
	typ      term // v3-RoleCode service delivery location type
}

type staffMember struct {
	practitionerID, roleID string
	name                   string
	role                   jobRole
	specialty              int // index into specialties, or -1
}

// jobRole pairs the UK Core SDS job role name with the national RBAC
// access role the smartcard role profile carries (NHS-RULES.md §5).
type jobRole struct {
	code, display string
	nurse         bool
}

var (
	roleGP         = jobRole{"R0260", "General Medical Practitioner", false}
	roleConsultant = jobRole{"R0050", "Consultant", false}
	roleNurse      = jobRole{"R0620", "Staff Nurse", true}
)

const (
	sdsJobRoleName = "https://fhir.hl7.org.uk/CodeSystem/UKCore-SDSJobRoleName"
	sdsJobRoleCode = "https://fhir.nhs.uk/CodeSystem/NHSDigital-SDS-JobRoleCode"
	roleCode       = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
)

var (
	siteHosp      = term{"HOSP", "Hospital"}
	siteER        = term{"ER", "Emergency room"}
	siteWard      = term{"HU", "Hospital unit"}
	siteRadiology = term{"RADDX", "Radiology diagnostics or therapeutics unit"}
	siteSurgery   = term{"PC", "Primary care clinic"}
)

const (
	numPractices = 40
	numTrusts    = 8
)

var centreNames = []struct {
	name      string
	specialty int
}{
	{"Regional Cardiothoracic Centre", 6},
	{"Regional Orthopaedic Centre", 2},
	{"Regional Respiratory Centre", 7},
	{"Regional Eye and Ear Centre", 4},
}

// streamShared numbers ids of shared resources apart from every patient's.
const streamShared = 1 << 62

func (g *Generator) buildShared() {
	r := newRNG(g.seed, streamShared, 0)
	var k uint64
	nextID := func() string { k++; return uuidFor(g.seed, streamShared, k) }
	usedCodes := map[string]bool{}
	code := func(f func() string) string {
		for {
			c := f()
			if !usedCodes[c] {
				usedCodes[c] = true
				return c
			}
		}
	}
	const practiceLetters = "ABCDEFGHJKLMNPY"
	const alnum = "0123456789ABCDEFGHJKLMNPQRTVWXY"

	for t := 0; t < numTrusts; t++ {
		town := t % len(towns)
		o := org{kind: kindTrust, id: nextID(), town: town,
			code: code(func() string { return fmt.Sprintf("R%c%c", alnum[10+r.intn(len(alnum)-10)], alnum[r.intn(len(alnum))]) }),
			name: towns[town].city + " and District Hospitals NHS Trust"}
		o.mrnSystem = "urn:oid:" + oidFor(g.seed, streamShared, uint64(t))
		hosp := towns[town].city + " General Hospital"
		o.sites = []site{
			{nextID(), hosp, siteHosp},
			{nextID(), hosp + " Emergency Department", siteER},
			{nextID(), hosp + " " + pick(r, placeRoots) + " Ward", siteWard},
			{nextID(), hosp + " Radiology", siteRadiology},
		}
		for s := range specialties {
			o.staff = append(o.staff, g.newStaff(r, nextID, roleConsultant, s))
		}
		for n := 0; n < 4; n++ {
			o.staff = append(o.staff, g.newStaff(r, nextID, roleNurse, -1))
		}
		g.trusts = append(g.trusts, o)
	}
	for c, cn := range centreNames {
		town := (c*3 + 1) % len(towns)
		o := org{kind: kindCentre, id: nextID(), town: town,
			code: code(func() string { return fmt.Sprintf("R%c%c", alnum[10+r.intn(len(alnum)-10)], alnum[r.intn(len(alnum))]) }),
			name: towns[town].city + " " + cn.name}
		o.mrnSystem = "urn:oid:" + oidFor(g.seed, streamShared, uint64(100+c))
		o.sites = []site{
			{nextID(), o.name, siteHosp},
			{nextID(), o.name + " " + pick(r, placeRoots) + " Ward", siteWard},
		}
		for n := 0; n < 3; n++ {
			o.staff = append(o.staff, g.newStaff(r, nextID, roleConsultant, cn.specialty))
		}
		o.staff = append(o.staff, g.newStaff(r, nextID, roleNurse, -1))
		g.centres = append(g.centres, o)
	}
	for p := 0; p < numPractices; p++ {
		town := p % len(towns)
		name := pick(r, placePrefixes) + " " + pick(r, placeRoots) + pick(r, placeStems)
		switch r.intn(3) {
		case 0:
			name += " Surgery"
		case 1:
			name += " Medical Practice"
		default:
			name += " Health Centre"
		}
		o := org{kind: kindPractice, id: nextID(), town: town, name: name,
			code: code(func() string {
				return fmt.Sprintf("%c%05d", practiceLetters[r.intn(len(practiceLetters))], r.between(81000, 89999))
			})}
		o.sites = []site{{nextID(), name, siteSurgery}}
		for n := 0; n < 3; n++ {
			o.staff = append(o.staff, g.newStaff(r, nextID, roleGP, -1))
		}
		o.staff = append(o.staff, g.newStaff(r, nextID, roleNurse, -1))
		g.practices = append(g.practices, o)
	}
}

func (g *Generator) newStaff(r *rng, nextID func() string, role jobRole, specialty int) staffMember {
	pool := givenFemale
	if r.chance(0.45) {
		pool = givenMale
	}
	name := pick(r, pool) + " " + pick(r, familyNames)
	if !role.nurse {
		name = "Dr " + name
	}
	return staffMember{practitionerID: nextID(), roleID: nextID(), name: name, role: role, specialty: specialty}
}

// trustFor is the acute trust that serves a practice's town.
func (g *Generator) trustFor(practice int) *org {
	return &g.trusts[g.practices[practice].town%len(g.trusts)]
}

// sharedResources builds the shared resources in a fixed order:
// organisations, then locations, then practitioners and their roles.
func (g *Generator) sharedResources() []item {
	var out []item
	all := make([]*org, 0, len(g.trusts)+len(g.centres)+len(g.practices))
	for i := range g.trusts {
		all = append(all, &g.trusts[i])
	}
	for i := range g.centres {
		all = append(all, &g.centres[i])
	}
	for i := range g.practices {
		all = append(all, &g.practices[i])
	}
	for _, o := range all {
		out = append(out, marshal("Organization", o.id, g.organization(o)))
	}
	for _, o := range all {
		for _, s := range o.sites {
			out = append(out, marshal("Location", s.id, location{
				ResourceType: "Location", ID: s.id, Status: "active", Name: s.name, Mode: "instance",
				Type:                 []concept{ccv(roleCode, s.typ.code, s.typ.display)},
				Address:              &address{City: towns[o.town].city, District: towns[o.town].district, Country: "GB"},
				ManagingOrganization: refd("Organization", o.id, o.name),
			}))
		}
	}
	for _, o := range all {
		for _, s := range o.staff {
			out = append(out, marshal("Practitioner", s.practitionerID, g.practitioner(r0(g, s), s)))
			out = append(out, marshal("PractitionerRole", s.roleID, g.practitionerRole(o, s)))
		}
	}
	return out
}

// r0 derives the per-practitioner stream used for registration numbers, so
// they do not depend on the order staff were created in.
func r0(g *Generator, s staffMember) *rng {
	var h uint64
	for i := 0; i < len(s.practitionerID); i++ {
		h = h*131 + uint64(s.practitionerID[i])
	}
	return newRNG(g.seed, streamShared+1, h)
}

func (g *Generator) organization(o *org) organization {
	typ := term{"prov", "Healthcare Provider"}
	res := organization{
		ResourceType: "Organization", ID: o.id, Active: true, Name: o.name,
		Identifier: []identifier{{System: odsSystem, Value: o.code}},
		Type:       []concept{ccv("http://terminology.hl7.org/CodeSystem/organization-type", typ.code, typ.display)},
		Address:    []address{{Use: "work", City: towns[o.town].city, District: towns[o.town].district, Country: "GB"}},
	}
	return res
}

func (g *Generator) practitioner(r *rng, s staffMember) practitioner {
	ids := []identifier{{System: "https://fhir.nhs.uk/Id/sds-user-id", Value: fmt.Sprintf("%012d", r.next()%1e12)}}
	if s.role.nurse {
		// NMC PIN: two digits, a letter, four digits, a letter.
		ids = append(ids, identifier{System: "https://fhir.hl7.org.uk/Id/nmc-number",
			Value: fmt.Sprintf("%02d%c%04d%c", r.intn(100), 'A'+r.intn(26), r.intn(10000), 'A'+r.intn(26))})
	} else {
		// GMC reference numbers are seven digits.
		ids = append(ids, identifier{System: "https://fhir.hl7.org.uk/Id/gmc-number", Value: fmt.Sprintf("%07d", r.between(2000000, 7999999))})
	}
	given, family := splitName(s.name)
	hn := humanName{Use: "official", Family: family, Given: given}
	if !s.role.nurse {
		hn.Prefix = []string{"Dr"}
	}
	return practitioner{ResourceType: "Practitioner", ID: s.practitionerID, Identifier: ids, Active: true, Name: []humanName{hn}}
}

func splitName(full string) (given []string, family string) {
	parts := []string{}
	start := 0
	for i := 0; i <= len(full); i++ {
		if i == len(full) || full[i] == ' ' {
			if i > start {
				parts = append(parts, full[start:i])
			}
			start = i + 1
		}
	}
	if len(parts) > 0 && parts[0] == "Dr" {
		parts = parts[1:]
	}
	return parts[:len(parts)-1], parts[len(parts)-1]
}

func (g *Generator) practitionerRole(o *org, s staffMember) practitionerRole {
	r := r0(g, s)
	r.next()
	pr := practitionerRole{
		ResourceType: "PractitionerRole", ID: s.roleID, Active: true,
		Identifier:   []identifier{{System: "https://fhir.nhs.uk/Id/sds-role-profile-id", Value: fmt.Sprintf("%012d", r.next()%1e12)}},
		Practitioner: refd("Practitioner", s.practitionerID, s.name),
		Organization: refd("Organization", o.id, o.name),
		Code: []concept{
			ccv(sdsJobRoleName, s.role.code, s.role.display),
			ccv(sdsJobRoleCode, "S8000:G8000:R8000", "Clinical Practitioner Access Role"),
		},
		Location: []reference{*ref("Location", o.sites[0].id)},
	}
	if s.specialty >= 0 {
		pr.Specialty = []concept{{Text: specialties[s.specialty].name}}
	}
	return pr
}
