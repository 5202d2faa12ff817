package app

import (
	"github.com/nhs-junction/junction/internal/cds/news2obs"
	"github.com/nhs-junction/junction/internal/interaction"
	"github.com/nhs-junction/junction/internal/searchparam"
)

// withClinicalServices installs the built-in clinical services that run
// on write: NEWS2, calculated in the transaction of the vital signs that
// complete or change a set (package news2obs).
func withClinicalServices(svc *interaction.Service, st Backend) {
	svc.SetDeriver(news2obs.New(st, searchparam.R4()))
}
