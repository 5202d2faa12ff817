package app

import (
	"log/slog"

	"github.com/nhs-junction/junction/internal/access"
	"github.com/nhs-junction/junction/internal/config"
	"github.com/nhs-junction/junction/internal/imaging"
	"github.com/nhs-junction/junction/internal/interaction"
)

// ImagingTriageCaller is who the automatic triage of a new ImagingStudy
// runs as: a system caller whose scopes allow exactly what the triage
// does (read the study and its Endpoints; write the Observation, the
// Provenance), so its writes pass the access
// decision and are audited under its name like anyone's.
var ImagingTriageCaller = &access.Caller{Kind: access.System, Subject: "junction-imaging-triage", Name: "Junction imaging triage (AI model client)",
	Scopes: []string{"system/ImagingStudy.rs", "system/Endpoint.r", "system/Observation.c", "system/Provenance.c"}}

// ImagingModelRegistrar records the Device of each model version the
// first time it answers: an administrative write (a Device is in no
// patient's record), allowed to write Devices only.
var ImagingModelRegistrar = &access.Caller{Kind: access.Admin, Subject: "junction-imaging-model-registrar", Name: "Junction imaging triage (model registration)",
	Scopes: []string{"user/Device.cru"}}

// withImaging registers ImagingStudy/$worklist and $ai-triage on svc and
// returns the triage service (its worker runs until Close). Without
// cfg.ImagingModel there is no model: the worklist orders by waiting
// time and says triage is not configured.
func withImaging(svc *interaction.Service, cfg config.Config, log *slog.Logger) *imaging.Service {
	opts := imaging.Options{FHIR: svc, Caller: ImagingTriageCaller, Registrar: ImagingModelRegistrar, BaseURL: cfg.BaseURL, Logger: log}
	if cfg.ImagingModel != "" {
		opts.Model = &imaging.Client{URL: cfg.ImagingModel, Timeout: cfg.ImagingTimeout}
	}
	t := imaging.New(opts)
	t.Register(svc)
	return t
}
