package authn

import (
	"encoding/json"
	"net/http"
)

// capabilities are the SMART capabilities this server implements
// (SMART App Launch 2.x, Conformance: "Capabilities").
var capabilities = []string{
	"launch-ehr", "launch-standalone",
	"client-public", "client-confidential-asymmetric",
	"context-ehr-patient", "context-ehr-encounter",
	"context-standalone-patient",
	"sso-openid-connect",
	"permission-v1", "permission-v2",
	"permission-patient", "permission-user", "permission-offline", "permission-online",
	"authorize-post",
}

// scopesSupported lists representative scopes (SMART: scopes_supported is
// a sample, not every combination).
var scopesSupported = []string{
	"openid", "fhirUser", "profile", "launch", "launch/patient", "launch/encounter",
	"offline_access", "online_access",
	"patient/*.cruds", "patient/*.rs", "patient/*.read", "patient/*.write", "patient/*.*",
	"user/*.cruds", "user/*.rs", "user/*.read", "user/*.write", "user/*.*",
	"system/*.cruds", "system/*.rs", "system/*.read", "system/*.write", "system/*.*",
}

// SMARTConfiguration returns the document served at
// [base]/.well-known/smart-configuration (SMART App Launch 2.x,
// Conformance: "Metadata").
func (s *Server) SMARTConfiguration() map[string]any {
	return map[string]any{
		"issuer":                                s.issuer,
		"jwks_uri":                              s.jwksURL(),
		"authorization_endpoint":                s.authorizeURL(),
		"token_endpoint":                        s.tokenURL(),
		"introspection_endpoint":                s.introspectURL(),
		"grant_types_supported":                 []string{"authorization_code", "refresh_token", "client_credentials"},
		"token_endpoint_auth_methods_supported": []string{"private_key_jwt", "none"},
		"token_endpoint_auth_signing_alg_values_supported": []string{"RS384", "ES384"},
		"scopes_supported":                 scopesSupported,
		"response_types_supported":         []string{"code"},
		"code_challenge_methods_supported": []string{"S256"},
		"capabilities":                     capabilities,
	}
}

func (s *Server) serveSMARTConfig(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "max-age=300")
	json.NewEncoder(w).Encode(s.SMARTConfiguration())
}

// serveOpenIDConfig serves OpenID Connect Discovery 1.0 section 3
// provider metadata, which sso-openid-connect clients read to validate
// id_tokens.
func (s *Server) serveOpenIDConfig(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "max-age=300")
	json.NewEncoder(w).Encode(map[string]any{
		"issuer":                                           s.issuer,
		"authorization_endpoint":                           s.authorizeURL(),
		"token_endpoint":                                   s.tokenURL(),
		"introspection_endpoint":                           s.introspectURL(),
		"jwks_uri":                                         s.jwksURL(),
		"response_types_supported":                         []string{"code"},
		"subject_types_supported":                          []string{"public"},
		"id_token_signing_alg_values_supported":            []string{string(serverAlg)},
		"scopes_supported":                                 scopesSupported,
		"token_endpoint_auth_methods_supported":            []string{"private_key_jwt", "none"},
		"token_endpoint_auth_signing_alg_values_supported": []string{"RS384", "ES384"},
		"code_challenge_methods_supported":                 []string{"S256"},
		"claims_supported":                                 []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "fhirUser", "name"},
	})
}

// serveJWKS publishes the public keys that verify this server's tokens:
// the signing key and any retired key whose tokens may still be live.
func (s *Server) serveJWKS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	// Short caching: a verifier must see a new key soon after rotation.
	w.Header().Set("Cache-Control", "max-age=60")
	json.NewEncoder(w).Encode(s.keys.jwks())
}

// SecurityJSON returns the CapabilityStatement.rest.security element for
// this server: service SMART-on-FHIR and the oauth-uris extension
// (SMART App Launch 2.x, Conformance: "FHIR Authorization Endpoint and
// Capabilities Discovery using a FHIR CapabilityStatement"; deprecated
// there in favour of the well-known document, still read by older
// clients).
func (s *Server) SecurityJSON() []byte {
	sec := map[string]any{
		"extension": []any{map[string]any{
			"url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
			"extension": []any{
				map[string]any{"url": "authorize", "valueUri": s.authorizeURL()},
				map[string]any{"url": "token", "valueUri": s.tokenURL()},
				map[string]any{"url": "introspect", "valueUri": s.introspectURL()},
			},
		}},
		"service": []any{map[string]any{
			"coding": []any{map[string]any{
				"system":  "http://terminology.hl7.org/CodeSystem/restful-security-service",
				"code":    "SMART-on-FHIR",
				"display": "SMART-on-FHIR",
			}},
			"text": "OAuth 2.0 using SMART App Launch 2.x; see " + s.base + "/.well-known/smart-configuration",
		}},
		"description": "Every request needs an OAuth 2.0 bearer token (SMART App Launch 2.x, or SMART Backend Services for system clients).",
	}
	b, _ := json.Marshal(sec)
	return b
}
