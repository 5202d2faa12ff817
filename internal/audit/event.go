package audit

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nhs-junction/junction/internal/fhir"
)

// Interaction is what an AuditEvent records: a FHIR RESTful interaction
// (the codes of http://hl7.org/fhir/restful-interaction), or one of the
// security events below them.
type Interaction string

// RESTful interactions (FHIR R4 http.html), audited with the BALP
// RESTful patterns (BALP 3:5.7.3).
const (
	Create            Interaction = "create"
	Read              Interaction = "read"
	VRead             Interaction = "vread"
	Update            Interaction = "update"
	Patch             Interaction = "patch"
	Delete            Interaction = "delete"
	HistoryInstance   Interaction = "history-instance"
	HistoryType       Interaction = "history-type"
	HistorySystem     Interaction = "history-system"
	SearchType        Interaction = "search-type"
	SearchSystem      Interaction = "search-system"
	SearchCompartment Interaction = "search" // a compartment search, e.g. Patient/1/Observation
	Capabilities      Interaction = "capabilities"
	Batch             Interaction = "batch"
	Transaction       Interaction = "transaction"
	Operation         Interaction = "operation" // any $operation; name it in Entry.Operation
)

// Security events, typed with the DICOM audit codes that FHIR R4's
// audit-event-type value set includes (DICOM PS3.16 CID 400-403).
const (
	// Login is a user authentication or a token issued (DCM 110114 User
	// Authentication, subtype 110122 Login); a refused one has a failure
	// Outcome.
	Login Interaction = "login"
	// Logout is the end of a session (DCM 110114, subtype 110123 Logout).
	Logout Interaction = "logout"
	// BreakGlass is the start of an emergency access (DCM 110113 Security
	// Alert, subtype 110127 Emergency Override Started); each access made
	// under it is audited as its own interaction with Entry.BreakGlass set.
	BreakGlass Interaction = "break-glass"
)

// Outcome is AuditEvent.outcome (R4 value set audit-event-outcome).
type Outcome string

// Outcomes.
const (
	Success        Outcome = "0"  // the action succeeded
	MinorFailure   Outcome = "4"  // refused or failed for the client's reason (HTTP 4xx)
	SeriousFailure Outcome = "8"  // failed for the server's reason (HTTP 5xx)
	MajorFailure   Outcome = "12" // the system is no longer available
)

// OutcomeForStatus returns the outcome of an interaction answered with
// HTTP status code status, as R4 audit-event-outcome describes them: 2xx
// and 3xx succeed, 4xx are minor failures, 5xx serious ones.
func OutcomeForStatus(status int) Outcome {
	switch {
	case status >= 500:
		return SeriousFailure
	case status >= 400:
		return MinorFailure
	}
	return Success
}

// Entry is everything an AuditEvent records about one interaction. The
// caller fills it from the request's access.Caller and what the
// interaction did; Event turns it into JSON. Zero fields are left out.
type Entry struct {
	Interaction Interaction
	// Operation names the operation of an Operation interaction, e.g.
	// "$everything".
	Operation string
	// Time is when the interaction happened (AuditEvent.recorded); zero
	// means now.
	Time time.Time
	// RequestID is the request's X-Request-Id (BALP 3:5.7.3.1).
	RequestID string
	Outcome   Outcome
	// OutcomeDesc explains a failure (never internal error text).
	OutcomeDesc string

	// The caller, copied from access.Caller.
	Kind         string   // access.Kind: practitioner, patient, system, ...
	Subject      string   // the token's sub
	Issuer       string   // the token's iss: the system of the user's identifier
	Name         string   // display name of the user
	ClientID     string   // the OAuth client
	Organization string   // ODS code the user acts for
	OrgName      string   // the organisation's name, if known
	Roles        []string // national RBAC job role codes (R8000, or S8000:G8000:R8000)
	Practitioner string   // Practitioner id of a staff user
	Patient      string   // Patient id of a patient user acting for themselves or another
	Purpose      string   // v3-ActReason code; empty: TREAT for staff
	BreakGlass   string   // the reason given for an emergency access; empty: none
	Remote       string   // the federation peer the request came through
	Address      string   // the network address the request came from (host or host:port)
	TokenID      string   // the access token's jti

	// What was touched.
	Resources []string // references read or written, e.g. "Observation/1/_history/2"
	// Query is the raw request of a search, history or operation, e.g.
	// "GET /fhir/Observation?patient=1"; it is recorded base64-encoded
	// (BALP Query: entity[query].query) so that it is kept exactly.
	Query string
	// CleanQuery is the query as the server understood it, recorded as
	// text; empty: the raw query when it is valid UTF-8.
	CleanQuery string
	// Patients are the ids of the Patients whose records were touched.
	Patients []string

	// Server is this server: the observer and the server agent.
	Server Server
}

// Server describes the server that records the AuditEvents.
type Server struct {
	ODS     string // ODS code of the organisation running the server
	Name    string // display name, e.g. the organisation's
	BaseURL string // the FHIR base URL, e.g. https://fhir.example.nhs.uk/fhir
}

// Code systems and profiles used below.
const (
	sysEventType    = "http://terminology.hl7.org/CodeSystem/audit-event-type"
	sysInteraction  = "http://hl7.org/fhir/restful-interaction"
	sysDCM          = "http://dicom.nema.org/resources/ontology/DCM"
	sysParticipant  = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
	sysRoleClass    = "http://terminology.hl7.org/CodeSystem/v3-RoleClass"
	sysActReason    = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
	sysEntityType   = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
	sysObjectRole   = "http://terminology.hl7.org/CodeSystem/object-role"
	sysSourceType   = "http://terminology.hl7.org/CodeSystem/security-source-type"
	sysProvenance   = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
	sysSecurityRole = "http://terminology.hl7.org/CodeSystem/extra-security-role-type"
	sysBALPEntity   = "https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType"
	sysODS          = "https://fhir.nhs.uk/Id/ods-organization-code"
	// National RBAC roles: the colon form is the SDS job role code, a bare
	// R-code the UK Core job role name (NHS-RULES 5.1).
	sysJobRoleCode = "https://fhir.nhs.uk/CodeSystem/NHSDigital-SDS-JobRoleCode"
	sysJobRoleName = "https://fhir.nhs.uk/R4/CodeSystem/CodeSystem-UKCore-SDSJobRoleName"
	balpProfile    = "https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit."
)

var (
	codeSource      = coding{System: sysDCM, Code: "110153", Display: "Source Role ID"}
	codeDestination = coding{System: sysDCM, Code: "110152", Display: "Destination Role ID"}
	codeApplication = coding{System: sysDCM, Code: "110150", Display: "Application"}
	codeCustodian   = coding{System: sysProvenance, Code: "custodian", Display: "Custodian"}
	codeRecipient   = coding{System: sysParticipant, Code: "IRCP", Display: "information recipient"}
	codeAuthor      = coding{System: sysParticipant, Code: "AUT", Display: "author (originator)"}
	codeHumanUser   = coding{System: sysSecurityRole, Code: "humanuser", Display: "human user"}
	codeProvider    = coding{System: sysRoleClass, Code: "PROV", Display: "healthcare provider"}
	codeAgent       = coding{System: sysRoleClass, Code: "AGNT", Display: "agent"}
	codePatientRole = coding{System: sysRoleClass, Code: "PAT", Display: "patient"}
)

// purposeDisplay names the v3-ActReason codes the access rules use.
var purposeDisplay = map[string]string{
	"TREAT": "treatment", "ETREAT": "Emergency Treatment", "HOPERAT": "healthcare operations",
	"HRESCH": "healthcare research", "BTG": "break the glass", "PATRQT": "patient requested",
	"PUBHLTH": "public health", "HPAYMT": "healthcare payment", "HMARKT": "healthcare marketing",
}

// shape is how BALP records one kind of interaction: the AuditEvent type,
// subtype, action, the agent types of client, server and user, and the
// profile (without the Patient prefix) it conforms to when it succeeds.
type shape struct {
	typ, subtype        coding
	action              string
	client, server, usr coding
	profile             string // "" when BALP defines none
	data, query         bool   // the profile requires one data entity / the query entity
}

func shapeOf(in Interaction) shape {
	rest := coding{System: sysEventType, Code: "rest", Display: "Restful Operation"}
	sub := coding{System: sysInteraction, Code: string(in)}
	// BALP 3:5.7.3: create, update and query have the client as Source
	// Role ID and the server as Destination; read the other way round;
	// delete the client as Application and the server as Custodian.
	write := shape{typ: rest, subtype: sub, client: codeSource, server: codeDestination, usr: codeAuthor}
	read := shape{typ: rest, subtype: sub, action: "R", client: codeDestination, server: codeSource, usr: codeRecipient}
	query := shape{typ: rest, subtype: sub, action: "E", client: codeSource, server: codeDestination, usr: codeRecipient, query: true}
	switch in {
	case Create:
		write.action, write.profile, write.data = "C", "Create", true
		return write
	case Update, Patch:
		write.action, write.profile, write.data = "U", "Update", true
		return write
	case Delete:
		write.action, write.profile, write.data = "D", "Delete", true
		write.client, write.server = codeApplication, codeCustodian
		return write
	case Read, VRead:
		read.profile, read.data = "Read", true
		return read
	case HistoryInstance, Capabilities:
		return read
	case SearchType, SearchSystem, SearchCompartment:
		query.profile = "Query"
		return query
	case HistoryType, HistorySystem, Operation:
		return query
	case Batch, Transaction:
		write.action = "E"
		return write
	case Login, Logout:
		code, display := "110122", "Login"
		if in == Logout {
			code, display = "110123", "Logout"
		}
		return shape{typ: coding{System: sysDCM, Code: "110114", Display: "User Authentication"},
			subtype: coding{System: sysDCM, Code: code, Display: display}, action: "E",
			client: codeApplication, server: codeDestination, usr: codeHumanUser}
	case BreakGlass:
		return shape{typ: coding{System: sysDCM, Code: "110113", Display: "Security Alert"},
			subtype: coding{System: sysDCM, Code: "110127", Display: "Emergency Override Started"}, action: "E",
			client: codeApplication, server: codeDestination, usr: codeHumanUser}
	}
	// An interaction this package does not know is still recorded, as an
	// execute of that code, never dropped.
	query.query = false
	return query
}

// Events returns the AuditEvents of e: one per patient in e.Patients,
// each naming only that patient, as BALP PatientQuery requires ("one
// AuditEvent is created for every Patient identified"), or the one
// AuditEvent of e when it names at most one patient. Each is the JSON of
// an AuditEvent without id and meta.versionId, ready to be stored.
func Events(e Entry) [][]byte {
	if len(e.Patients) <= 1 {
		return [][]byte{Event(e)}
	}
	out := make([][]byte, 0, len(e.Patients))
	for _, p := range e.Patients {
		one := e
		one.Patients = []string{p}
		out = append(out, Event(one))
	}
	return out
}

// Event returns the AuditEvent of e as FHIR R4 JSON (without id and
// meta.versionId). It claims the BALP profile it conforms to in
// meta.profile: Create, Read, Update, Delete or Query, or their Patient
// variants when e names exactly one patient, and only for a successful
// interaction whose network addresses are known; BALP has no profile for
// failures (they "would not be a successful outcome"), nor for history,
// batch, operations or security events, which follow the same pattern
// without claiming one. An event naming several patients lists them all;
// use Events to get BALP's one event per patient.
func Event(e Entry) []byte {
	sh := shapeOf(e.Interaction)
	when := e.Time
	if when.IsZero() {
		when = time.Now()
	}
	outcome := e.Outcome
	if outcome == "" {
		outcome = Success
	}
	ev := auditEvent{
		ResourceType: "AuditEvent",
		Type:         sh.typ,
		Subtype:      []coding{sh.subtype},
		Action:       sh.action,
		Recorded:     fhir.FormatInstant(when),
		Outcome:      string(outcome),
		OutcomeDesc:  e.OutcomeDesc,
	}
	purpose := e.Purpose
	if purpose == "" && e.Kind == "practitioner" {
		purpose = "TREAT"
	}
	var purposes []concept
	if e.BreakGlass != "" {
		// The reason travels with the BTG code, and the event carries BTG
		// as a security label too, so a privacy officer finds every
		// emergency access with one search (_security).
		purposes = append(purposes, concept{Coding: []coding{{System: sysActReason, Code: "BTG", Display: purposeDisplay["BTG"]}}, Text: e.BreakGlass})
		ev.Meta.Security = []coding{{System: sysActReason, Code: "BTG", Display: purposeDisplay["BTG"]}}
	}
	if purpose != "" && !(purpose == "BTG" && e.BreakGlass != "") {
		purposes = append(purposes, concept{Coding: []coding{{System: sysActReason, Code: purpose, Display: purposeDisplay[purpose]}}})
	}
	ev.PurposeOfEvent = purposes

	server := serverWho(e.Server)
	// The user (BALP agent[user]); a system client acting for itself has none.
	if u, ok := userAgent(e, sh.usr, purposes); ok {
		ev.Agent = append(ev.Agent, u)
	}
	if e.Organization != "" {
		ev.Agent = append(ev.Agent, agent{Type: &concept{Coding: []coding{codeProvider}}, Requestor: false,
			Who: &reference{Identifier: &identifier{System: sysODS, Value: e.Organization}, Display: e.OrgName}})
	}
	client := agent{Type: &concept{Coding: []coding{sh.client}}, Requestor: false, Who: &reference{Display: "unidentified client"}}
	if e.ClientID != "" {
		client.Who = &reference{Identifier: &identifier{Value: e.ClientID}}
	}
	if addr := hostOf(e.Address); addr != "" {
		kind := "1" // machine name
		if net.ParseIP(addr) != nil {
			kind = "2" // IP address
		}
		client.Network = &network{Address: addr, Type: kind}
	}
	ev.Agent = append(ev.Agent, client)
	if e.Remote != "" {
		ev.Agent = append(ev.Agent, agent{Type: &concept{Coding: []coding{codeAgent}}, Requestor: false, Name: "federation peer",
			Who: &reference{Identifier: &identifier{System: "urn:ietf:rfc:3986", Value: e.Remote}}})
	}
	srv := agent{Type: &concept{Coding: []coding{sh.server}}, Requestor: false, Who: server}
	if e.Server.BaseURL != "" {
		srv.Network = &network{Address: e.Server.BaseURL, Type: "5"} // URI
	}
	ev.Agent = append(ev.Agent, srv)
	ev.Source = source{Site: siteOf(e.Server.BaseURL), Observer: server,
		Type: []coding{{System: sysSourceType, Code: "4", Display: "Application Server"}}}

	for _, p := range e.Patients {
		ev.Entity = append(ev.Entity, entity{What: &reference{Reference: "Patient/" + p},
			Type: &coding{System: sysEntityType, Code: "1", Display: "Person"},
			Role: &coding{System: sysObjectRole, Code: "1", Display: "Patient"}})
	}
	for _, r := range e.Resources {
		ev.Entity = append(ev.Entity, entity{What: &reference{Reference: r},
			Type: &coding{System: sysEntityType, Code: "2", Display: "System Object"},
			Role: &coding{System: sysObjectRole, Code: "4", Display: "Domain Resource"}})
	}
	if e.Query != "" || e.Operation != "" {
		q := entity{Type: &coding{System: sysEntityType, Code: "2", Display: "System Object"},
			Role: &coding{System: sysObjectRole, Code: "24", Display: "Query"}}
		if e.Query != "" {
			q.Query = base64.StdEncoding.EncodeToString([]byte(e.Query))
		}
		q.Description = e.CleanQuery
		if q.Description == "" && utf8.ValidString(e.Query) {
			q.Description = e.Query
		}
		if e.Operation != "" {
			q.Description = strings.TrimSpace(e.Operation + " " + q.Description)
		}
		ev.Entity = append(ev.Entity, q)
	}
	if e.RequestID != "" {
		ev.Entity = append(ev.Entity, entity{Type: &coding{System: sysBALPEntity, Code: "XrequestId"},
			What: &reference{Identifier: &identifier{Value: e.RequestID}}})
	}
	if p := profileFor(sh, e, outcome); p != "" {
		ev.Meta.Profile = []string{p}
	}
	return encode(ev)
}

// profileFor returns the BALP profile e conforms to, or "".
func profileFor(sh shape, e Entry, outcome Outcome) string {
	switch {
	case sh.profile == "", outcome != Success, len(e.Patients) > 1,
		hostOf(e.Address) == "", e.Server.BaseURL == "",
		sh.data && len(e.Resources) != 1, sh.query && e.Query == "":
		return ""
	}
	if len(e.Patients) == 1 {
		return balpProfile + "Patient" + sh.profile
	}
	return balpProfile + sh.profile
}

// userAgent returns BALP's agent[user]: who (the Practitioner or Patient
// resource and the token subject), name, roles, the token id (policy) and
// purpose of use.
func userAgent(e Entry, typ coding, purposes []concept) (agent, bool) {
	if e.Subject == "" && e.Name == "" && e.Practitioner == "" && e.Patient == "" {
		return agent{}, false
	}
	who := &reference{Display: e.Name}
	switch {
	case e.Practitioner != "":
		who.Reference = "Practitioner/" + e.Practitioner
	case e.Patient != "":
		who.Reference = "Patient/" + e.Patient
	}
	if e.Subject != "" {
		who.Identifier = &identifier{System: e.Issuer, Value: e.Subject}
	}
	a := agent{Type: &concept{Coding: []coding{typ}}, Who: who, Name: e.Name, Requestor: true, PurposeOfUse: purposes}
	for _, r := range e.Roles {
		sys := sysJobRoleName
		if strings.Contains(r, ":") {
			sys = sysJobRoleCode
		}
		a.Role = append(a.Role, concept{Coding: []coding{{System: sys, Code: r}}})
	}
	if e.Kind == "patient" {
		a.Role = append(a.Role, concept{Coding: []coding{codePatientRole}})
	}
	if e.TokenID != "" {
		// BALP OAuth Minimal/Comprehensive: the JWT ID as a URN (RFC 3553).
		a.Policy = []string{"urn:ietf:params:oauth:jti:" + e.TokenID}
	}
	return a, true
}

func serverWho(s Server) *reference {
	r := &reference{Display: s.Name}
	if s.ODS != "" {
		r.Identifier = &identifier{System: sysODS, Value: s.ODS}
	}
	if r.Display == "" && r.Identifier == nil {
		r.Display = "Junction"
	}
	return r
}

// hostOf returns the host of an address given as host or host:port.
func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return strings.Trim(addr, "[]")
}

// siteOf returns the host of the base URL: AuditEvent.source.site.
func siteOf(base string) string {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Host
}

func encode(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	// A query's & and < stay readable; JSON does not need them escaped.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only strings, slices and structs: encoding cannot fail.
		panic(err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}
