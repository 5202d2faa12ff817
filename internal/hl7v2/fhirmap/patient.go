package fhirmap

import (
	"strings"

	"github.com/nhs-junction/junction/internal/hl7v2"
	"github.com/nhs-junction/junction/internal/identity/nhsnumber"
)

// Identifier is a FHIR identifier: system and value.
type Identifier struct {
	System, Value string
}

// Token renders id as a token search value, system|value, escaping the
// characters FHIR search escapes (search.html#escaping).
func (id Identifier) Token() string {
	esc := strings.NewReplacer(`\`, `\\`, `|`, `\|`, `,`, `\,`, `$`, `\$`)
	return esc.Replace(id.System) + "|" + esc.Replace(id.Value)
}

// patientIDs is what a PID segment identifies a person by.
type patientIDs struct {
	nhs       string // valid NHS number, or ""
	nhsStatus string // NHS Number Status Indicator code 01-08, or ""
	local     []localID
}

type localID struct {
	Identifier
	typ  string // CX.5 identifier type code
	auth string // CX.4.1 assigning authority
}

// readPatientIDs finds the NHS number and the local identifiers of a PID
// segment (occurrence occ). The NHS number is searched where NHS feeds
// put it (see the package README): a PID-3 (then PID-2) repetition whose
// assigning authority or type says NHS number, PID-2 with "NHS" in CX.2,
// and PID-19 (Cerner). A value found there that is not a valid NHS number
// is an error (HL7 102), never silently dropped.
func readPatientIDs(pid *hl7v2.Segment, occ int, f Facility, facility string) (patientIDs, error) {
	var out patientIDs
	nhsRule := func(auth, typ string) bool {
		for _, r := range append(append([]IdentifierRule(nil), builtinNHS...), f.NHSNumber...) {
			if r.matches(auth, typ) {
				return true
			}
		}
		return false
	}
	setNHS := func(v string, field, rep int) error {
		v = strings.ReplaceAll(strings.TrimSpace(v), " ", "")
		if err := nhsnumber.Validate(v); err != nil {
			return errAt("PID", occ, field, rep, 1, CodeDataType, "NHS number %q is not valid: %v", clip(v), err)
		}
		if out.nhs != "" && out.nhs != v {
			return errAt("PID", occ, field, rep, 1, CodeDuplicateKey, "two different NHS numbers (%s, %s) for one patient", out.nhs, v)
		}
		out.nhs = v
		return nil
	}
	for _, field := range []int{3, 2, 4} {
		for i, r := range pid.Field(field).Reps() {
			v, check, auth, typ := comp(r, 1), comp(r, 2), strings.TrimSpace(r.Component(4).Sub(1)), comp(r, 5)
			if st := nsts(check); st != "" && out.nhsStatus == "" {
				out.nhsStatus = st // Medway PAS: ^NSTS03^^NHS^NHS
			}
			if v == "" {
				continue
			}
			if len(v) > maxIDLength {
				return out, errAt("PID", occ, field, i+1, 1, CodeDataType, "identifier of %d bytes; at most %d are accepted", len(v), maxIDLength)
			}
			if nhsRule(auth, typ) || (field == 2 && strings.EqualFold(check, "NHS")) {
				if err := setNHS(v, field, i+1); err != nil {
					return out, err
				}
				continue
			}
			out.local = append(out.local, localID{Identifier: Identifier{System: f.mrnSystem(facility, auth, typ), Value: v}, typ: typ, auth: auth})
		}
	}
	// PID-19 (SSN number) carries the NHS number in some Cerner feeds.
	if v := strings.ReplaceAll(comp(pid.Field(19).Rep(1), 1), " ", ""); v != "" && out.nhs == "" && len(v) == 10 && strings.Trim(v, "0123456789") == "" {
		if err := setNHS(v, 19, 1); err != nil {
			return out, err
		}
	}
	if st := nsts(comp(pid.Field(32).Rep(1), 1)); st != "" {
		out.nhsStatus = st
	}
	out.local = dedupe(out.local)
	return out, nil
}

// maxIDLength bounds an identifier value (HL7 v2.5.1 gives CX.1 at most
// 15 characters, later versions 199).
const maxIDLength = 250

// nsts reads an NHS Number Status Indicator as NHS feeds send it in
// PID-32 or CX.2: NSTS01..NSTS08 (or the bare 01..08).
func nsts(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "NSTS")
	if len(s) == 2 && s[0] == '0' && s[1] >= '1' && s[1] <= '8' {
		return s
	}
	return ""
}

func dedupe(ids []localID) []localID {
	seen := map[Identifier]bool{}
	var out []localID
	for _, id := range ids {
		if !seen[id.Identifier] {
			seen[id.Identifier] = true
			out = append(out, id)
		}
	}
	return out
}

// mrnSystem is the FHIR system of a local identifier: the first MRN rule
// it matches, else LocalSystem of its authority (or type).
func (f Facility) mrnSystem(facility, auth, typ string) string {
	for _, r := range f.MRN {
		if r.matches(auth, typ) && r.System != "" {
			return r.System
		}
	}
	kind := auth
	if kind == "" {
		kind = typ
	}
	if kind == "" {
		kind = "mrn"
	}
	return LocalSystem(facility, kind)
}

// keys returns the identifiers the patient is found by: the NHS number
// first, then the local identifiers.
func (p patientIDs) keys() []Identifier {
	var out []Identifier
	if p.nhs != "" {
		out = append(out, Identifier{NHSNumberSystem, p.nhs})
	}
	for _, l := range p.local {
		out = append(out, l.Identifier)
	}
	return out
}

// v2-0203 identifier types a FHIR identifier.type may carry.
var identifierTypes = map[string]bool{"MR": true, "PI": true, "AN": true, "VN": true, "PT": true, "MRT": true, "HC": true, "NH": true, "PN": true, "PRN": true}

// patientResource builds the Patient from PID/PD1 over prior, the stored
// Patient (nil for a new one). HL7 semantics apply field by field (HL7
// v2.5.1 2.5.3): an empty field leaves what is stored, the null "" removes
// it, a value replaces it. Identifiers are merged: the message's replace
// those of the same system, others (another trust's MRN) are kept.
func patientResource(m *hl7v2.Message, pid *hl7v2.Segment, occ int, ids patientIDs, f Facility, facility string, prior map[string]any) (map[string]any, error) {
	p := map[string]any{}
	for k, v := range prior {
		switch k {
		case "meta", "text":
		default:
			p[k] = v
		}
	}
	p["resourceType"] = "Patient"
	// Identifiers.
	var idents []any
	fresh := map[string]bool{}
	if ids.nhs != "" {
		nh := map[string]any{"system": NHSNumberSystem, "value": ids.nhs}
		if ids.nhsStatus != "" {
			nh["extension"] = []any{map[string]any{"url": NHSStatusURL, "valueCodeableConcept": map[string]any{
				"coding": []any{map[string]any{"system": NHSStatusSystem, "code": ids.nhsStatus}}}}}
		}
		idents = append(idents, nh)
		fresh[NHSNumberSystem] = true
	}
	for _, l := range ids.local {
		id := map[string]any{"system": l.System, "value": l.Value}
		if t := strings.ToUpper(l.typ); identifierTypes[t] {
			id["type"] = map[string]any{"coding": []any{map[string]any{"system": V2IdentifierType, "code": t}}}
		}
		if f.ODS != "" {
			id["assigner"] = map[string]any{"identifier": map[string]any{"system": ODSSystem, "value": f.ODS}}
		}
		idents = append(idents, id)
		fresh[l.System] = true
	}
	if old, ok := prior["identifier"].([]any); ok {
		for _, x := range old {
			o, _ := x.(map[string]any)
			sys, _ := o["system"].(string)
			if !fresh[sys] {
				idents = append(idents, x)
				continue
			}
			// A verification status the message does not repeat is kept
			// while the number is the same.
			if sys == NHSNumberSystem && o["value"] == ids.nhs && ids.nhsStatus == "" && o["extension"] != nil {
				idents[0].(map[string]any)["extension"] = o["extension"]
			}
		}
	}
	if len(idents) > 0 {
		p["identifier"] = idents
	}
	set := func(field int, key string, v any) {
		if l, ok := v.([]any); ok && len(l) == 0 {
			v = nil // a nil slice in an interface is not a nil interface
		}
		fl := pid.Field(field)
		switch {
		case fl.IsNull():
			delete(p, key)
		case v != nil:
			p[key] = v
		}
	}
	set(5, "name", names(pid.Field(5)))
	bd, ok, err := fieldTS(pid, occ, 7)
	if err != nil {
		return nil, err
	}
	if ok {
		p["birthDate"] = bd.date()
	} else if pid.Field(7).IsNull() {
		delete(p, "birthDate")
	}
	if g := gender(comp(pid.Field(8).Rep(1), 1)); g != "" {
		p["gender"] = g
	} else {
		set(8, "gender", nil)
	}
	set(11, "address", addresses(pid.Field(11)))
	var tel []any
	tel = append(tel, telecoms(pid.Field(13), "home")...)
	tel = append(tel, telecoms(pid.Field(14), "work")...)
	if len(tel) > 0 {
		p["telecom"] = tel
	} else if pid.Field(13).IsNull() {
		delete(p, "telecom")
	}
	dd, ok, err := fieldTS(pid, occ, 29)
	if err != nil {
		return nil, err
	}
	switch {
	case ok:
		p["deceasedDateTime"] = dd.dateTime()
		delete(p, "deceasedBoolean")
	case strings.EqualFold(comp(pid.Field(30).Rep(1), 1), "Y"):
		p["deceasedBoolean"] = true
		delete(p, "deceasedDateTime")
	case strings.EqualFold(comp(pid.Field(30).Rep(1), 1), "N"):
		p["deceasedBoolean"] = false
		delete(p, "deceasedDateTime")
	}
	if pd1 := m.Segment("PD1"); pd1 != nil {
		if gp := generalPractitioner(pd1); len(gp) > 0 {
			p["generalPractitioner"] = gp
		} else if pd1.Field(3).IsNull() && pd1.Field(4).IsNull() {
			delete(p, "generalPractitioner")
		}
	}
	if f.ODS != "" {
		if _, has := p["managingOrganization"]; !has {
			p["managingOrganization"] = map[string]any{"identifier": map[string]any{"system": ODSSystem, "value": f.ODS}}
		}
	}
	return p, nil
}

// names maps PID-5 XPN repetitions (family^given^middle^suffix^prefix^
// degree^type) to HumanName; the name type (table 0200) gives the use.
func names(f hl7v2.Field) []any {
	var out []any
	for _, r := range reps(f) {
		family, given, middle, suffix, prefix := value(r.Component(1)), comp(r, 2), comp(r, 3), comp(r, 4), comp(r, 5)
		if family == "" && given == "" {
			continue
		}
		n := map[string]any{}
		if family != "" {
			n["family"] = family
		}
		if g := nonEmpty(given, middle); len(g) > 0 {
			n["given"] = toAny(g)
		}
		if prefix != "" {
			n["prefix"] = []any{prefix}
		}
		if suffix != "" {
			n["suffix"] = []any{suffix}
		}
		switch strings.ToUpper(comp(r, 7)) {
		case "L", "CURRENT":
			n["use"] = "official"
		case "D", "PREFERRED":
			n["use"] = "usual"
		case "M", "MAIDEN":
			n["use"] = "maiden"
		case "N":
			n["use"] = "nickname"
		case "A", "S", "ALTERNATE":
			n["use"] = "anonymous"
		case "PREVIOUS", "BAD":
			n["use"] = "old"
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// gender maps PID-8: HL7 table 0001 (M, F, O, U, A, N), the NHS Data
// Dictionary person stated gender codes (1 male, 2 female, 9 not
// specified, 0 not known) and the words feeds send.
func gender(s string) string {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "":
		return ""
	case "M", "1", "MALE":
		return "male"
	case "F", "2", "FEMALE":
		return "female"
	case "O", "A", "OTHER", "X":
		return "other"
	}
	return "unknown"
}

// addresses maps PID-11 XAD repetitions (street^other^city^county^
// postcode^country^type) to Address.
func addresses(f hl7v2.Field) []any {
	var out []any
	for _, r := range reps(f) {
		a := map[string]any{}
		if lines := nonEmpty(value(r.Component(1)), comp(r, 2)); len(lines) > 0 {
			a["line"] = toAny(lines)
		}
		for i, key := range map[int]string{3: "city", 4: "district", 5: "postalCode", 6: "country"} {
			if v := comp(r, i); v != "" {
				a[key] = v
			}
		}
		if len(a) == 0 {
			continue
		}
		switch strings.ToUpper(comp(r, 7)) {
		case "H", "HOME", "P":
			a["use"] = "home"
		case "B", "O", "WORK":
			a["use"] = "work"
		case "C", "TEMP":
			a["use"] = "temp"
		case "M":
			a["type"] = "postal"
		case "PREVIOUS", "BA", "OLD":
			a["use"] = "old"
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// telecoms maps XTN repetitions (HL7 v2.5.1 2.A.89: number^use code
// (table 0201)^equipment type (table 0202)^e-mail^...^any text) to
// ContactPoint; use is the default for the field (home for PID-13,
// work for PID-14).
func telecoms(f hl7v2.Field, use string) []any {
	var out []any
	for _, r := range reps(f) {
		num, code, equip, email := comp(r, 1), strings.ToUpper(comp(r, 2)), strings.ToUpper(comp(r, 3)), comp(r, 4)
		if num == "" {
			num = strings.TrimSpace(strings.Join(nonEmpty(comp(r, 5), comp(r, 6), comp(r, 7)), " "))
		}
		cp := map[string]any{"use": use}
		switch {
		case email != "" || code == "NET" || code == "EMAIL" || equip == "INTERNET":
			if email == "" {
				email = num
			}
			if email == "" {
				continue
			}
			cp["system"], cp["value"] = "email", email
		case num == "":
			continue
		case equip == "FX" || code == "FAX":
			cp["system"], cp["value"] = "fax", num
		default:
			cp["system"], cp["value"] = "phone", num
		}
		switch {
		case equip == "CP" || code == "PRS" || strings.Contains(code, "MOBILE"):
			cp["use"] = "mobile"
		case code == "WPN" || code == "BUSINESS":
			cp["use"] = "work"
		case code == "PRN" || code == "HOME":
			cp["use"] = "home"
		}
		out = append(out, cp)
	}
	return out
}

// generalPractitioner maps PD1-3 (registered practice, XON: name^^ODS
// code in XON.3, or XON.10 from v2.5) and PD1-4 (registered GP, XCN) to
// Patient.generalPractitioner references by identifier.
func generalPractitioner(pd1 *hl7v2.Segment) []any {
	var out []any
	if r := pd1.Field(3).Rep(1); !r.IsEmpty() {
		name, code := comp(r, 1), comp(r, 3)
		if code == "" {
			code = comp(r, 10)
		}
		ref := map[string]any{}
		if code != "" {
			ref["type"] = "Organization"
			ref["identifier"] = map[string]any{"system": ODSSystem, "value": code}
		}
		if name != "" {
			ref["display"] = name
		}
		if len(ref) > 0 {
			out = append(out, ref)
		}
	}
	for _, r := range reps(pd1.Field(4)) {
		if ref := xcn(r); ref != nil {
			ref["type"] = "Practitioner"
			out = append(out, ref)
			break
		}
	}
	return out
}
