package authn

import (
	"context"
	"html/template"
	"net/http"
	"strings"

	"github.com/nhs-junction/junction/internal/access"
)

// pageData fills the sign-in and consent page.
type pageData struct {
	Title    string
	Client   string
	Flow     string
	Error    string
	Login    bool
	Username string
	// Consent
	Consent  bool
	User     string
	Scopes   []scopeItem
	Pick     bool          // a patient must be chosen
	Patients []patientItem // choices for a patient user; free entry for staff
}

type scopeItem struct {
	Scope, Text string
}

type patientItem struct {
	ID, Label string
	Checked   bool
}

// page is deliberately plain HTML: one column, real labels, fieldsets
// with legends, an error announced by role="alert", no script, so that
// it works with screen readers, keyboards, zoom and without JavaScript
// (WCAG 2.2 AA, as the NHS service manual asks).
var page = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} - Junction</title>
<style>
body{font-family:Arial,sans-serif;font-size:1.1875rem;line-height:1.5;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#212b32;background:#fff}
label{display:block;font-weight:bold;margin-top:1rem}
input[type=text],input[type=password]{font-size:inherit;width:100%;max-width:24rem;padding:.4rem;border:2px solid #4c6272}
input:focus,button:focus{outline:3px solid #ffeb3b;outline-offset:0}
fieldset{border:none;padding:0;margin:1.5rem 0}
legend{font-weight:bold;font-size:1.3rem}
.choice{margin:.5rem 0}.choice label{display:inline;font-weight:normal;margin:0}
.choice input{width:1.5rem;height:1.5rem;vertical-align:middle;margin-right:.5rem}
.error{border-left:6px solid #d5281b;padding:.5rem 1rem;margin:1rem 0;color:#d5281b;font-weight:bold}
button{font-size:inherit;padding:.5rem 1.2rem;margin:1.5rem 1rem 0 0;border:0;border-bottom:4px solid #00401e;background:#007f3b;color:#fff;cursor:pointer}
button.secondary{background:#4c6272;border-bottom-color:#263139}
code{font-size:.95em}
</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
{{if .Error}}<div class="error" role="alert" id="error">{{.Error}}</div>{{end}}
{{if .Login}}
<p><strong>{{.Client}}</strong> wants to use your Junction account.</p>
<form method="post" action="/auth/authorize" autocomplete="on">
<input type="hidden" name="flow" value="{{.Flow}}">
<input type="hidden" name="action" value="login">
<label for="username">Username</label>
<input type="text" id="username" name="username" value="{{.Username}}" autocomplete="username" autocapitalize="none" spellcheck="false" required{{if .Error}} aria-describedby="error"{{end}}>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
{{end}}
{{if .Consent}}
<p>You are signed in as <strong>{{.User}}</strong>.</p>
<form method="post" action="/auth/authorize">
<input type="hidden" name="flow" value="{{.Flow}}">
<fieldset>
<legend>Allow {{.Client}} to:</legend>
<p>Untick anything you do not want to allow.</p>
{{range $i, $s := .Scopes}}<div class="choice"><input type="checkbox" id="scope{{$i}}" name="scope_grant" value="{{$s.Scope}}" checked><label for="scope{{$i}}">{{$s.Text}} <code>({{$s.Scope}})</code></label></div>
{{end}}
</fieldset>
{{if .Pick}}<fieldset>
<legend>Which patient?</legend>
{{if .Patients}}{{range $i, $p := .Patients}}<div class="choice"><input type="radio" id="patient{{$i}}" name="patient" value="{{$p.ID}}"{{if $p.Checked}} checked{{end}}><label for="patient{{$i}}">{{$p.Label}}</label></div>
{{end}}{{else}}<label for="patient">Patient id</label>
<input type="text" id="patient" name="patient" autocomplete="off" spellcheck="false">
{{end}}</fieldset>{{end}}
<button type="submit" name="action" value="approve">Allow</button>
<button type="submit" name="action" value="deny" class="secondary">Do not allow</button>
</form>
{{end}}
</main>
</body>
</html>
`))

// renderPage writes the page with headers that keep it out of caches
// and frames (clickjacking) and leak nothing through Referer.
func (s *Server) renderPage(w http.ResponseWriter, status int, d pageData) {
	noStore(w)
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	if err := page.Execute(w, d); err != nil {
		s.log.Error("authn: render page", "err", err)
	}
}

// consentPage builds the consent page for user u.
func (s *Server) consentPage(ctx context.Context, c Client, u User, fc flowClaims, flow, msg string) pageData {
	of := s.offerFor(c, u, fc.Req)
	d := pageData{Title: "Allow access", Client: c.Name, Flow: flow, Error: msg, Consent: true, User: u.Name, Pick: of.pickPatient}
	for _, sc := range of.scopes {
		d.Scopes = append(d.Scopes, scopeItem{Scope: sc, Text: describeScope(sc)})
	}
	if of.pickPatient && u.Kind == access.PatientUser {
		for i, p := range u.Patients {
			label := "Patient " + p
			if i == 0 {
				label = "Yourself (Patient " + p + ")"
			}
			if s.opt.LookupPatient != nil {
				if name, err := s.opt.LookupPatient(ctx, p); err == nil && name != "" {
					label = name + " (Patient " + p + ")"
				}
			}
			d.Patients = append(d.Patients, patientItem{ID: p, Label: label, Checked: i == 0})
		}
	}
	return d
}

// describeScope says in plain English what a scope allows.
func describeScope(raw string) string {
	switch raw {
	case "openid", "profile":
		return "Know who you are"
	case "fhirUser":
		return "Know who you are and find your record"
	case "launch":
		return "Open with the patient or encounter you are working on"
	case "launch/patient":
		return "Know which patient is chosen"
	case "launch/encounter":
		return "Know which encounter is open"
	case "offline_access":
		return "Keep access after you close it, until you withdraw it"
	case "online_access":
		return "Keep access while you are signed in, up to 12 hours"
	}
	sc, err := ParseScope(raw)
	if err != nil {
		return raw
	}
	var verbs []string
	for _, p := range []struct{ c, v string }{{"c", "create"}, {"r", "read"}, {"u", "update"}, {"d", "delete"}, {"s", "search"}} {
		if strings.Contains(sc.Perms, p.c) {
			verbs = append(verbs, p.v)
		}
	}
	what := sc.Type + " records"
	if sc.Type == "*" {
		what = "all kinds of records"
	}
	whose := map[string]string{"patient": "of the chosen patient", "user": "that you can see", "system": "on the server"}[sc.Context]
	v := strings.Join(verbs, ", ")
	if i := strings.LastIndex(v, ", "); i >= 0 {
		v = v[:i] + " and " + v[i+2:]
	}
	out := strings.ToUpper(v[:1]) + v[1:] + " " + what + " " + whose
	if sc.Query != "" {
		out += ", limited to " + sc.Query
	}
	return out
}
