package audit

// The R4 AuditEvent as JSON, members in the order of the specification
// (auditevent.html), empty ones left out.

type auditEvent struct {
	ResourceType   string    `json:"resourceType"`
	Meta           meta      `json:"meta,omitzero"`
	Type           coding    `json:"type"`
	Subtype        []coding  `json:"subtype,omitempty"`
	Action         string    `json:"action,omitempty"`
	Recorded       string    `json:"recorded"`
	Outcome        string    `json:"outcome,omitempty"`
	OutcomeDesc    string    `json:"outcomeDesc,omitempty"`
	PurposeOfEvent []concept `json:"purposeOfEvent,omitempty"`
	Agent          []agent   `json:"agent"`
	Source         source    `json:"source"`
	Entity         []entity  `json:"entity,omitempty"`
}

type meta struct {
	Profile  []string `json:"profile,omitempty"`
	Security []coding `json:"security,omitempty"`
}

type coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

type concept struct {
	Coding []coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

type identifier struct {
	System string `json:"system,omitempty"`
	Value  string `json:"value,omitempty"`
}

type reference struct {
	Reference  string      `json:"reference,omitempty"`
	Identifier *identifier `json:"identifier,omitempty"`
	Display    string      `json:"display,omitempty"`
}

type network struct {
	Address string `json:"address,omitempty"`
	Type    string `json:"type,omitempty"`
}

type agent struct {
	Type         *concept   `json:"type,omitempty"`
	Role         []concept  `json:"role,omitempty"`
	Who          *reference `json:"who,omitempty"`
	Name         string     `json:"name,omitempty"`
	Requestor    bool       `json:"requestor"`
	Policy       []string   `json:"policy,omitempty"`
	Network      *network   `json:"network,omitempty"`
	PurposeOfUse []concept  `json:"purposeOfUse,omitempty"`
}

type source struct {
	Site     string     `json:"site,omitempty"`
	Observer *reference `json:"observer"`
	Type     []coding   `json:"type,omitempty"`
}

type entity struct {
	What        *reference `json:"what,omitempty"`
	Type        *coding    `json:"type,omitempty"`
	Role        *coding    `json:"role,omitempty"`
	Description string     `json:"description,omitempty"`
	Query       string     `json:"query,omitempty"`
}
