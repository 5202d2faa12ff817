package audit

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/validate"
)

// clinician is a staff caller reading through a registered app.
func clinician() Entry {
	return Entry{
		Time:      time.Date(2025, 3, 1, 9, 30, 0, 123456000, time.UTC),
		RequestID: "4a8dca3c-2205-4dc7-90e1-db877781d7cc",
		Kind:      "practitioner", Subject: "555123456789", Issuer: "https://fhir.nhs.uk/Id/sds-user-id",
		Name: "Dr Ann Smith", ClientID: "ward-app", Organization: "RR8", OrgName: "Leeds Teaching Hospitals",
		Roles: []string{"R8000"}, Practitioner: "ann", Address: "10.1.2.3:51234", TokenID: "jti-1",
		Server: Server{ODS: "RR8", Name: "Leeds Junction", BaseURL: "https://fhir.leeds.example/fhir"},
	}
}

type agentWant struct{ system, code string }

func TestEventBALPShapes(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*Entry)
		typ     string // system|code
		subtype string
		action  string
		client  agentWant
		server  agentWant
		user    string // user agent type code, "" for none
		profile string // "" for none
		data    int    // entities with role Domain Resource
		query   bool
	}{
		{name: "read with patient", edit: func(e *Entry) {
			e.Interaction, e.Resources, e.Patients = Read, []string{"Observation/1/_history/3"}, []string{"p1"}
		}, typ: sysEventType + "|rest", subtype: sysInteraction + "|read", action: "R",
			client: agentWant{sysDCM, "110152"}, server: agentWant{sysDCM, "110153"}, user: "IRCP",
			profile: balpProfile + "PatientRead", data: 1},
		{name: "vread without patient", edit: func(e *Entry) {
			e.Interaction, e.Resources = VRead, []string{"Organization/o/_history/1"}
		}, typ: sysEventType + "|rest", subtype: sysInteraction + "|vread", action: "R",
			client: agentWant{sysDCM, "110152"}, server: agentWant{sysDCM, "110153"}, user: "IRCP",
			profile: balpProfile + "Read", data: 1},
		{name: "create", edit: func(e *Entry) {
			e.Interaction, e.Resources, e.Patients = Create, []string{"Condition/c/_history/1"}, []string{"p1"}
		}, typ: sysEventType + "|rest", subtype: sysInteraction + "|create", action: "C",
			client: agentWant{sysDCM, "110153"}, server: agentWant{sysDCM, "110152"}, user: "AUT",
			profile: balpProfile + "PatientCreate", data: 1},
		{name: "patch", edit: func(e *Entry) {
			e.Interaction, e.Resources = Patch, []string{"Library/l/_history/2"}
		}, typ: sysEventType + "|rest", subtype: sysInteraction + "|patch", action: "U",
			client: agentWant{sysDCM, "110153"}, server: agentWant{sysDCM, "110152"}, user: "AUT",
			profile: balpProfile + "Update", data: 1},
		{name: "delete", edit: func(e *Entry) {
			e.Interaction, e.Resources, e.Patients = Delete, []string{"Observation/1"}, []string{"p1"}
		}, typ: sysEventType + "|rest", subtype: sysInteraction + "|delete", action: "D",
			client: agentWant{sysDCM, "110150"}, server: agentWant{sysProvenance, "custodian"}, user: "AUT",
			profile: balpProfile + "PatientDelete", data: 1},
		{name: "search with patient", edit: func(e *Entry) {
			e.Interaction, e.Query, e.Patients = SearchType, "GET /fhir/Observation?patient=p1&code=1234-5", []string{"p1"}
		}, typ: sysEventType + "|rest", subtype: sysInteraction + "|search-type", action: "E",
			client: agentWant{sysDCM, "110153"}, server: agentWant{sysDCM, "110152"}, user: "IRCP",
			profile: balpProfile + "PatientQuery", query: true},
		{name: "search, no patient", edit: func(e *Entry) {
			e.Interaction, e.Query = SearchSystem, "GET /fhir/?_lastUpdated=gt2025"
		}, typ: sysEventType + "|rest", subtype: sysInteraction + "|search-system", action: "E",
			client: agentWant{sysDCM, "110153"}, server: agentWant{sysDCM, "110152"}, user: "IRCP",
			profile: balpProfile + "Query", query: true},
		{name: "failed search claims no profile", edit: func(e *Entry) {
			e.Interaction, e.Query, e.Outcome, e.OutcomeDesc = SearchType, "GET /fhir/Observation?bogus=1", MinorFailure, "unknown parameter bogus"
		}, typ: sysEventType + "|rest", subtype: sysInteraction + "|search-type", action: "E",
			client: agentWant{sysDCM, "110153"}, server: agentWant{sysDCM, "110152"}, user: "IRCP", query: true},
		{name: "operation", edit: func(e *Entry) {
			e.Interaction, e.Operation, e.Query, e.Resources, e.Patients = Operation, "$everything", "GET /fhir/Patient/p1/$everything", []string{"Patient/p1"}, []string{"p1"}
		}, typ: sysEventType + "|rest", subtype: sysInteraction + "|operation", action: "E",
			client: agentWant{sysDCM, "110153"}, server: agentWant{sysDCM, "110152"}, user: "IRCP", data: 1, query: true},
		{name: "transaction", edit: func(e *Entry) { e.Interaction = Transaction },
			typ: sysEventType + "|rest", subtype: sysInteraction + "|transaction", action: "E",
			client: agentWant{sysDCM, "110153"}, server: agentWant{sysDCM, "110152"}, user: "AUT"},
		{name: "system client, no user", edit: func(e *Entry) {
			e.Interaction, e.Resources = Read, []string{"Organization/o"}
			e.Kind, e.Subject, e.Name, e.Practitioner, e.Organization = "system", "", "", "", ""
		}, typ: sysEventType + "|rest", subtype: sysInteraction + "|read", action: "R",
			client: agentWant{sysDCM, "110152"}, server: agentWant{sysDCM, "110153"},
			profile: balpProfile + "Read", data: 1},
		{name: "login refused", edit: func(e *Entry) {
			e.Interaction, e.Outcome, e.OutcomeDesc = Login, MinorFailure, "invalid client assertion"
		},
			typ: sysDCM + "|110114", subtype: sysDCM + "|110122", action: "E",
			client: agentWant{sysDCM, "110150"}, server: agentWant{sysDCM, "110152"}, user: "humanuser"},
		{name: "break-glass start", edit: func(e *Entry) {
			e.Interaction, e.BreakGlass, e.Patients = BreakGlass, "unconscious in ED", []string{"p1"}
		}, typ: sysDCM + "|110113", subtype: sysDCM + "|110127", action: "E",
			client: agentWant{sysDCM, "110150"}, server: agentWant{sysDCM, "110152"}, user: "humanuser"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := clinician()
			tt.edit(&e)
			raw := Event(e)
			ev := decode(t, raw)
			if got := sysCode(ev["type"]); got != tt.typ {
				t.Errorf("type = %s, want %s", got, tt.typ)
			}
			if subs := ev["subtype"].([]any); len(subs) != 1 || sysCode(subs[0]) != tt.subtype {
				t.Errorf("subtype = %v, want %s", subs, tt.subtype)
			}
			if ev["action"] != tt.action {
				t.Errorf("action = %v, want %s", ev["action"], tt.action)
			}
			wantOutcome := string(e.Outcome)
			if wantOutcome == "" {
				wantOutcome = "0"
			}
			if ev["outcome"] != wantOutcome {
				t.Errorf("outcome = %v, want %s", ev["outcome"], wantOutcome)
			}
			if ev["recorded"] != "2025-03-01T09:30:00.123456Z" {
				t.Errorf("recorded = %v", ev["recorded"])
			}
			var profiles []any
			if m, ok := ev["meta"].(map[string]any); ok {
				profiles, _ = m["profile"].([]any)
			}
			if tt.profile == "" && len(profiles) > 0 || tt.profile != "" && (len(profiles) != 1 || profiles[0] != tt.profile) {
				t.Errorf("meta.profile = %v, want %q", profiles, tt.profile)
			}
			agents := ev["agent"].([]any)
			client := findAgent(agents, tt.client)
			if client == nil {
				t.Fatalf("no client agent of type %v in %v", tt.client, agents)
			}
			if net := client["network"].(map[string]any); net["address"] != "10.1.2.3" || net["type"] != "2" {
				t.Errorf("client network = %v", net)
			}
			if who := client["who"].(map[string]any); who["identifier"].(map[string]any)["value"] != "ward-app" {
				t.Errorf("client who = %v", who)
			}
			server := findAgent(agents, tt.server)
			if server == nil {
				t.Fatalf("no server agent of type %v in %v", tt.server, agents)
			}
			if server["network"].(map[string]any)["address"] != "https://fhir.leeds.example/fhir" || server["requestor"] != false {
				t.Errorf("server agent = %v", server)
			}
			src := ev["source"].(map[string]any)
			if obs := src["observer"].(map[string]any)["identifier"].(map[string]any); obs["system"] != sysODS || obs["value"] != "RR8" {
				t.Errorf("source.observer = %v", src["observer"])
			}
			if src["site"] != "fhir.leeds.example" {
				t.Errorf("source.site = %v", src["site"])
			}
			user := findAgentCode(agents, tt.user)
			if tt.user == "" {
				for _, a := range agents {
					if a.(map[string]any)["requestor"] == true {
						t.Errorf("a system caller has a requestor agent: %v", a)
					}
				}
			} else {
				if user == nil {
					t.Fatalf("no user agent %s in %v", tt.user, agents)
				}
				if user["requestor"] != true || user["name"] != "Dr Ann Smith" {
					t.Errorf("user agent = %v", user)
				}
				who := user["who"].(map[string]any)
				if who["reference"] != "Practitioner/ann" || who["identifier"].(map[string]any)["value"] != "555123456789" {
					t.Errorf("user who = %v", who)
				}
				if roles := user["role"].([]any); sysCode(roles[0].(map[string]any)["coding"].([]any)[0]) != sysJobRoleName+"|R8000" {
					t.Errorf("user roles = %v", roles)
				}
				if pol := user["policy"].([]any); pol[0] != "urn:ietf:params:oauth:jti:jti-1" {
					t.Errorf("user policy = %v", pol)
				}
				org := findAgentCode(agents, "PROV")
				if org == nil || org["who"].(map[string]any)["identifier"].(map[string]any)["value"] != "RR8" {
					t.Errorf("organisation agent = %v", org)
				}
			}
			var data, patients, query int
			for _, x := range ev["entity"].([]any) {
				en := x.(map[string]any)
				switch role, _ := en["role"].(map[string]any); {
				case role == nil:
					if sysCode(en["type"]) != sysBALPEntity+"|XrequestId" || en["what"].(map[string]any)["identifier"].(map[string]any)["value"] != e.RequestID {
						t.Errorf("transaction entity = %v", en)
					}
				case sysCode(role) == sysObjectRole+"|4":
					data++
				case sysCode(role) == sysObjectRole+"|1":
					patients++
					if sysCode(en["type"]) != sysEntityType+"|1" || en["what"].(map[string]any)["reference"] != "Patient/p1" {
						t.Errorf("patient entity = %v", en)
					}
				case sysCode(role) == sysObjectRole+"|24":
					query++
					raw, err := base64.StdEncoding.DecodeString(en["query"].(string))
					if err != nil || string(raw) != e.Query {
						t.Errorf("query entity holds %q, want %q", raw, e.Query)
					}
					if en["what"] != nil {
						t.Errorf("query entity has what: %v", en)
					}
				}
			}
			if data != tt.data || patients != len(e.Patients) || (query == 1) != tt.query {
				t.Errorf("entities: %d data, %d patient, %d query; want %d, %d, %v", data, patients, query, tt.data, len(e.Patients), tt.query)
			}
			if e.Outcome != "" && e.Outcome != Success && ev["outcomeDesc"] != e.OutcomeDesc {
				t.Errorf("outcomeDesc = %v", ev["outcomeDesc"])
			}
			mustValidate(t, raw)
		})
	}
}

func TestEventPurposeAndBreakGlass(t *testing.T) {
	e := clinician()
	e.Interaction, e.Resources, e.Patients = Read, []string{"Condition/c"}, []string{"p9"}
	ev := decode(t, Event(e))
	if got := purposeCodes(ev["purposeOfEvent"]); !slices.Equal(got, []string{"TREAT"}) {
		t.Errorf("staff default purpose = %v, want TREAT", got)
	}
	if m, _ := ev["meta"].(map[string]any); m["security"] != nil {
		t.Errorf("an ordinary read is flagged: %v", m)
	}

	e.BreakGlass, e.Purpose = "patient unconscious, no consent possible", "ETREAT"
	raw := Event(e)
	ev = decode(t, raw)
	if got := purposeCodes(ev["purposeOfEvent"]); !slices.Equal(got, []string{"BTG", "ETREAT"}) {
		t.Errorf("break-glass purposes = %v, want BTG, ETREAT", got)
	}
	if text := ev["purposeOfEvent"].([]any)[0].(map[string]any)["text"]; text != e.BreakGlass {
		t.Errorf("break-glass reason = %v", text)
	}
	sec := ev["meta"].(map[string]any)["security"].([]any)
	if sysCode(sec[0]) != sysActReason+"|BTG" {
		t.Errorf("meta.security = %v, want BTG", sec)
	}
	user := findAgentCode(ev["agent"].([]any), "IRCP")
	if got := purposeCodes(user["purposeOfUse"]); !slices.Equal(got, []string{"BTG", "ETREAT"}) {
		t.Errorf("user purposeOfUse = %v", got)
	}
	mustValidate(t, raw)

	p := Entry{Interaction: SearchType, Kind: "patient", Subject: "nhs-login-1", Name: "Pat Jones", Patient: "p9",
		Patients: []string{"p9"}, Query: "GET /fhir/AuditEvent?patient=p9", Address: "2001:db8::1", ClientID: "nhs-app",
		Server: Server{ODS: "RR8", BaseURL: "https://x.example/fhir"}}
	ev = decode(t, Event(p))
	if ev["purposeOfEvent"] != nil {
		t.Errorf("a patient's own search got a purpose: %v", ev["purposeOfEvent"])
	}
	user = findAgentCode(ev["agent"].([]any), "IRCP")
	if user["who"].(map[string]any)["reference"] != "Patient/p9" || sysCode(user["role"].([]any)[0].(map[string]any)["coding"].([]any)[0]) != sysRoleClass+"|PAT" {
		t.Errorf("patient user agent = %v", user)
	}
	if net := findAgent(ev["agent"].([]any), agentWant{sysDCM, "110153"})["network"].(map[string]any); net["address"] != "2001:db8::1" || net["type"] != "2" {
		t.Errorf("IPv6 client network = %v", net)
	}
}

func TestEventsOnePerPatient(t *testing.T) {
	e := clinician()
	e.Interaction, e.Query, e.Patients = SearchType, "GET /fhir/Observation?code=1234-5", []string{"a", "b", "c"}
	evs := Events(e)
	if len(evs) != 3 {
		t.Fatalf("Events gave %d AuditEvents for 3 patients", len(evs))
	}
	for i, raw := range evs {
		ev := decode(t, raw)
		var pats []string
		for _, x := range ev["entity"].([]any) {
			en := x.(map[string]any)
			if r, _ := en["role"].(map[string]any); r != nil && r["code"] == "1" {
				pats = append(pats, en["what"].(map[string]any)["reference"].(string))
			}
		}
		if want := "Patient/" + e.Patients[i]; len(pats) != 1 || pats[0] != want {
			t.Errorf("event %d names %v, want only %s", i, pats, want)
		}
		if p := ev["meta"].(map[string]any)["profile"].([]any); p[0] != balpProfile+"PatientQuery" {
			t.Errorf("event %d profile %v", i, p)
		}
	}
	all := decode(t, Event(e))
	if m, _ := all["meta"].(map[string]any); m != nil && m["profile"] != nil {
		t.Errorf("one event for three patients claims %v, but BALP PatientQuery allows one patient", m["profile"])
	}
	if got := len(Events(clinician())); got != 1 {
		t.Errorf("Events without patients gave %d events", got)
	}
}

func TestOutcomeForStatus(t *testing.T) {
	for status, want := range map[int]Outcome{200: Success, 201: Success, 304: Success, 400: MinorFailure, 403: MinorFailure, 404: MinorFailure, 500: SeriousFailure, 503: SeriousFailure} {
		if got := OutcomeForStatus(status); got != want {
			t.Errorf("OutcomeForStatus(%d) = %s, want %s", status, got, want)
		}
	}
}

func mustValidate(t *testing.T, raw []byte) {
	t.Helper()
	// The store keeps what the interaction layer stamps: id and meta.
	obj, err := fhir.ParseObject(raw)
	if err != nil {
		t.Fatal(err)
	}
	stamped, err := fhir.Stamp(obj, "ae1", 1, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, is := range validate.Validate(stamped, validate.Options{}) {
		if is.Severity == fhir.SeverityError {
			t.Errorf("R4 validation: %s %v %s\n%s", is.Code, is.Expression, is.Diagnostics, raw)
		}
	}
}

func decode(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	if m["resourceType"] != "AuditEvent" {
		t.Fatalf("resourceType %v", m["resourceType"])
	}
	return m
}

// sysCode returns "system|code" of a Coding, or of a CodeableConcept's first coding.
func sysCode(v any) string {
	m, _ := v.(map[string]any)
	if cs, ok := m["coding"].([]any); ok && len(cs) > 0 {
		m, _ = cs[0].(map[string]any)
	}
	s, _ := m["system"].(string)
	c, _ := m["code"].(string)
	return s + "|" + c
}

func findAgent(agents []any, want agentWant) map[string]any {
	for _, a := range agents {
		m := a.(map[string]any)
		if sysCode(m["type"]) == want.system+"|"+want.code {
			return m
		}
	}
	return nil
}

func findAgentCode(agents []any, code string) map[string]any {
	for _, a := range agents {
		m := a.(map[string]any)
		if strings.HasSuffix(sysCode(m["type"]), "|"+code) {
			return m
		}
	}
	return nil
}

func purposeCodes(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, x := range list {
		s := sysCode(x)
		out = append(out, s[strings.LastIndex(s, "|")+1:])
	}
	return out
}
