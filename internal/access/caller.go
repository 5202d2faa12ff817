// Package access decides what a caller may do: SMART scopes, national
// RBAC roles, legitimate care relationships, patient consent,
// confidentiality labels and break-glass. Every request carries a Caller;
// the interaction layer asks this package for a decision before it reads
// or writes, and turns the decision's filter into conditions inside the
// store's queries, so no path reaches data around it.
package access

import (
	"context"
	"time"
)

// Kind is what sort of party a Caller is.
type Kind string

// Caller kinds.
const (
	// Practitioner is a member of staff acting for an organisation.
	Practitioner Kind = "practitioner"
	// PatientUser is a patient (or someone authorised for them) acting for
	// themselves: they see only the compartments of Caller.Patients.
	PatientUser Kind = "patient"
	// System is a client acting for itself (SMART Backend Services).
	System Kind = "system"
	// PrivacyOfficer reviews audit, break-glass and disputes.
	PrivacyOfficer Kind = "privacy-officer"
	// Admin administers the server (users, clients, configuration).
	Admin Kind = "admin"
	// Development is every caller when authorisation is switched off
	// (junction serve --auth off, loopback only): everything is allowed.
	Development Kind = "development"
)

// Caller is who is making a request, established once by authentication
// and carried, unchanged, by every interaction the request causes (each
// batch and transaction entry, each operation's internal searches).
type Caller struct {
	Kind Kind
	// Subject identifies the user or system client (the token's sub).
	Subject string
	// Name is a display name for audit and the patient's access log.
	Name string
	// ClientID is the OAuth client the request came through.
	ClientID string
	// Organization is the ODS code of the organisation the user acts for.
	Organization string
	// Roles are national RBAC job role codes (R-codes, e.g. R8000).
	Roles []string
	// Practitioner is the Practitioner resource id of a staff user, if any.
	Practitioner string
	// Patients are the Patient ids a patient user may act for: their own
	// first, then any they are authorised for (e.g. a child's).
	Patients []string
	// Scopes are the granted SMART scopes exactly as issued, e.g.
	// "patient/Observation.rs" or "user/*.read".
	Scopes []string
	// Purpose is the purpose of use (v3-ActReason code: TREAT, ETREAT,
	// HOPERAT, HRESCH, BTG, ...); empty means TREAT for staff.
	Purpose string
	// BreakGlass, when set, is an emergency access the caller asserted.
	BreakGlass *BreakGlass
	// Remote, when set, names the federation peer the request came from
	// on behalf of this user.
	Remote string
	// Address is the network address the request came from.
	Address string
}

// BreakGlass is an asserted emergency access (purpose BTG).
type BreakGlass struct {
	Reason  string
	Patient string // the Patient id access was opened for
	Until   time.Time
}

type ctxKey struct{}

// WithCaller returns ctx carrying c.
func WithCaller(ctx context.Context, c *Caller) context.Context {
	return context.WithValue(ctx, ctxKey{}, c)
}

// CallerFrom returns the Caller ctx carries, or nil.
func CallerFrom(ctx context.Context) *Caller {
	c, _ := ctx.Value(ctxKey{}).(*Caller)
	return c
}
