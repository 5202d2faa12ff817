package authn

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/nhs-junction/junction/internal/access"
	"github.com/nhs-junction/junction/internal/identity/nhsnumber"
)

// ExternalIssuer is an OpenID Connect provider whose access tokens (or
// id_tokens) are accepted as bearer tokens: the NHS Care Identity
// Service 2 (CIS2) for staff, NHS login for patients, or any other. A
// token is accepted when it is signed by a key at JWKSURL (RS*, PS* or
// ES*; never HMAC or none), its iss is Issuer, its aud contains
// Audience, and it has not expired. Claims are mapped to the Caller by
// Claims; every caller from the issuer holds Scopes.
type ExternalIssuer struct {
	Name     string       `json:"name"`
	Issuer   string       `json:"issuer"`
	JWKSURL  string       `json:"jwks_uri"`
	Audience string       `json:"audience"`
	Kind     access.Kind  `json:"kind"`
	Scopes   []string     `json:"scopes"`
	Claims   ClaimMapping `json:"claims"`
}

// ClaimMapping names the claims that carry each part of a Caller, as
// paths: dot-separated claim names, where a name may end in "[]" (every
// element of an array) or "[field=$claim]" (the elements whose field
// equals the value of the top-level claim named). For CIS2, roles are
// "nhsid_nrbac_roles[person_roleid=$selected_roleid].role_code" and the
// organisation "nhsid_nrbac_roles[person_roleid=$selected_roleid].org_code".
// Role values are split at ':' and the parts that are RBAC job role codes
// (R and four digits) kept, so "S8000:G8000:R8000" gives R8000.
type ClaimMapping struct {
	Subject      string `json:"subject"`      // default "sub"
	Name         string `json:"name"`         // default "name"
	Client       string `json:"client"`       // default "azp", then "client_id"
	Organization string `json:"organization"` // ODS code
	Roles        string `json:"roles"`
	Practitioner string `json:"practitioner"` // Practitioner resource id
	// NHSNumber is the claim holding a patient's NHS number ("nhs_number"
	// in NHS login), turned into a Patient id by Options.PatientByNHSNumber.
	NHSNumber string `json:"nhs_number"`
}

// LoadExternalIssuers reads a configuration file: {"issuers": [ ... ]},
// each an ExternalIssuer.
func LoadExternalIssuers(path string) ([]ExternalIssuer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Issuers []ExternalIssuer `json:"issuers"`
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if _, err := indexExternal(doc.Issuers, true); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return doc.Issuers, nil
}

// indexExternal validates the issuers and indexes them by issuer.
func indexExternal(list []ExternalIssuer, haveLookup bool) (map[string]*ExternalIssuer, error) {
	out := map[string]*ExternalIssuer{}
	for i := range list {
		e := list[i]
		name := e.Name
		if name == "" {
			name = e.Issuer
		}
		switch {
		case e.Issuer == "":
			return nil, fmt.Errorf("external issuer %d: issuer is required", i)
		case out[e.Issuer] != nil:
			return nil, fmt.Errorf("external issuer %s: listed twice", e.Issuer)
		case e.Audience == "":
			return nil, fmt.Errorf("external issuer %s: audience is required", name)
		case e.Kind != access.Practitioner && e.Kind != access.PatientUser && e.Kind != access.PrivacyOfficer && e.Kind != access.Admin:
			return nil, fmt.Errorf("external issuer %s: kind must be practitioner, patient, privacy-officer or admin", name)
		case e.Kind == access.PatientUser && e.Claims.NHSNumber == "":
			return nil, fmt.Errorf("external issuer %s: a patient issuer needs claims.nhs_number", name)
		case e.Claims.NHSNumber != "" && !haveLookup:
			return nil, fmt.Errorf("external issuer %s: maps NHS numbers but no patient lookup was given", name)
		}
		if err := checkFetchURL(e.JWKSURL); err != nil {
			return nil, fmt.Errorf("external issuer %s: jwks_uri: %w", name, err)
		}
		if err := checkScopes(e.Scopes); err != nil {
			return nil, fmt.Errorf("external issuer %s: %w", name, err)
		}
		for _, p := range []string{e.Claims.Subject, e.Claims.Name, e.Claims.Client, e.Claims.Organization, e.Claims.Roles, e.Claims.Practitioner, e.Claims.NHSNumber} {
			if _, err := claimValues(map[string]any{}, p); err != nil {
				return nil, fmt.Errorf("external issuer %s: claim path %q: %w", name, p, err)
			}
		}
		out[e.Issuer] = &e
	}
	return out, nil
}

// validateExternal checks a token of an external issuer and maps it.
func (s *Server) validateExternal(ctx context.Context, e *ExternalIssuer, tok *jwt.JSONWebToken) (*access.Caller, error) {
	h := tok.Headers[0]
	var key any
	for _, refresh := range []bool{false, true} {
		set, err := s.jwks.get(ctx, e.JWKSURL, refresh, parseAnyJWKS)
		if err != nil {
			s.log.Warn("authn: external JWKS unavailable", "issuer", e.Issuer, "err", err)
			return nil, invalidToken("the issuer's keys are unavailable")
		}
		for _, k := range set.Keys {
			if (h.KeyID == "" || k.KeyID == h.KeyID) && (k.Algorithm == "" || k.Algorithm == h.Algorithm) && keyFits(k, h.Algorithm) {
				key = k.Key
				break
			}
		}
		if key != nil {
			break
		}
	}
	if key == nil {
		return nil, invalidToken("no key of the issuer matches the token")
	}
	var reg jwt.Claims
	var all map[string]any
	if err := tok.Claims(key, &reg, &all); err != nil {
		return nil, invalidToken("signature does not verify")
	}
	if err := s.checkTime(reg, e.Audience, e.Issuer); err != nil {
		return nil, invalidToken("%s", strings.TrimPrefix(err.Error(), errTokenInvalid.Error()+": "))
	}
	first := func(path, def string) string {
		if path == "" {
			path = def
		}
		v, _ := claimValues(all, path)
		if len(v) == 0 {
			return ""
		}
		return v[0]
	}
	c := &access.Caller{Kind: e.Kind, Subject: first(e.Claims.Subject, "sub"), Name: first(e.Claims.Name, "name"),
		ClientID: first(e.Claims.Client, "azp"), Scopes: append([]string(nil), e.Scopes...)}
	if c.ClientID == "" {
		c.ClientID = first("", "client_id")
	}
	if c.Subject == "" {
		return nil, invalidToken("the token names no subject")
	}
	if e.Claims.Organization != "" {
		c.Organization = first(e.Claims.Organization, "")
	}
	if e.Claims.Practitioner != "" {
		c.Practitioner = first(e.Claims.Practitioner, "")
	}
	if e.Claims.Roles != "" {
		vals, _ := claimValues(all, e.Claims.Roles)
		for _, v := range vals {
			for _, part := range strings.Split(v, ":") {
				if roleRE.MatchString(part) && !hasScope(c.Roles, part) {
					c.Roles = append(c.Roles, part)
				}
			}
		}
	}
	if e.Claims.NHSNumber != "" {
		nhs := first(e.Claims.NHSNumber, "")
		if nhsnumber.Validate(nhs) != nil {
			return nil, invalidToken("the token carries no valid NHS number")
		}
		id, err := s.opt.PatientByNHSNumber(ctx, nhs)
		if isNotFound(err) {
			return nil, invalidToken("no patient record matches this NHS number")
		}
		if err != nil {
			return nil, err
		}
		c.Patients = []string{id}
	}
	return c, nil
}

// keyFits reports whether k is the right type of key for alg.
func keyFits(k jose.JSONWebKey, alg string) bool {
	switch k.Key.(type) {
	case *rsa.PublicKey:
		return strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")
	case *ecdsa.PublicKey:
		return strings.HasPrefix(alg, "ES")
	}
	return false
}

// claimValues evaluates a claim path (see ClaimMapping) over claims,
// returning the string (or number) values it reaches.
func claimValues(claims map[string]any, path string) ([]string, error) {
	if path == "" {
		return nil, nil
	}
	cur := []any{claims}
	for _, seg := range strings.Split(path, ".") {
		name, sel, hasSel := strings.Cut(seg, "[")
		if name == "" {
			return nil, fmt.Errorf("empty name")
		}
		var next []any
		for _, c := range cur {
			if m, ok := c.(map[string]any); ok {
				if v, ok := m[name]; ok {
					next = append(next, v)
				}
			}
		}
		if hasSel {
			if !strings.HasSuffix(sel, "]") {
				return nil, fmt.Errorf("unclosed [")
			}
			sel = strings.TrimSuffix(sel, "]")
			field, ref, filtered := strings.Cut(sel, "=$")
			if sel != "" && (!filtered || field == "" || ref == "") {
				return nil, fmt.Errorf("a selector is [] or [field=$claim]")
			}
			var elems []any
			for _, v := range next {
				arr, _ := v.([]any)
				for _, el := range arr {
					if !filtered {
						elems = append(elems, el)
						continue
					}
					m, _ := el.(map[string]any)
					if m != nil && scalar(m[field]) != "" && scalar(m[field]) == scalar(claims[ref]) {
						elems = append(elems, el)
					}
				}
			}
			next = elems
		}
		cur = next
	}
	var out []string
	for _, v := range cur {
		switch x := v.(type) {
		case []any:
			for _, el := range x {
				if s := scalar(el); s != "" {
					out = append(out, s)
				}
			}
		default:
			if s := scalar(x); s != "" {
				out = append(out, s)
			}
		}
	}
	return out, nil
}

// scalar returns a string or number claim as text, or "".
func scalar(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%f", x), "0"), ".")
	case json.Number:
		return x.String()
	}
	return ""
}
