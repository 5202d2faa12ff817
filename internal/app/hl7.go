package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/nhs-junction/junction/internal/access"
	"github.com/nhs-junction/junction/internal/config"
	"github.com/nhs-junction/junction/internal/feed"
	"github.com/nhs-junction/junction/internal/hl7v2/fhirmap"
	"github.com/nhs-junction/junction/internal/hl7v2/mllp"
	"github.com/nhs-junction/junction/internal/interaction"
	"github.com/nhs-junction/junction/internal/search"
)

// NewFeed builds the HL7 v2 feed over the store and service, with the
// mapping file cfg.HL7Mapping names (or the default mapping).
func NewFeed(cfg config.Config, st *search.Engine, svc *interaction.Service, log *slog.Logger) (*feed.Feed, error) {
	mapping := fhirmap.DefaultConfig()
	if cfg.HL7Mapping != "" {
		var err error
		if mapping, err = fhirmap.LoadConfig(cfg.HL7Mapping); err != nil {
			return nil, err
		}
	}
	return feed.New(feed.Options{Service: svc, Store: st, DB: st.DB(), Mapping: mapping, Logger: log})
}

// withHL7 serves the message store under /hl7/ beside the FHIR handler.
// The store's own rules (feed.Handler) decide who may read it, from the
// caller authenticate establishes.
func withHL7(h http.Handler, f *feed.Feed, authenticate feed.Authenticate) http.Handler {
	if f == nil {
		return h
	}
	fh := f.Handler(authenticate)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hl7/messages" || strings.HasPrefix(r.URL.Path, "/hl7/messages/") {
			fh.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// hl7Authenticate is how the message store establishes its callers: as
// the FHIR API does (SMART access tokens from node.Auth), or, with
// authorisation off, as the development caller. It is nil, which the
// message store answers with 401 to everything, when authorisation is on
// but no authorisation server was built.
func hl7Authenticate(cfg config.Config, node *Node) feed.Authenticate {
	if cfg.Auth == "off" {
		return func(*http.Request) (*access.Caller, error) {
			return &access.Caller{Kind: access.Development, Subject: "development", Name: "Development (authorisation off)"}, nil
		}
	}
	if node == nil || node.Auth == nil {
		return nil
	}
	return authenticate(node.Auth)
}

// startMLLP listens for HL7 v2 over MLLP (TLS when cfg names a
// certificate) and hands every message to f. It returns the address it
// listens on and a function that stops the listener gracefully.
func startMLLP(cfg config.Config, f *feed.Feed, log *slog.Logger) (string, func(context.Context) error, error) {
	srv := &mllp.Server{Handler: f, Logger: log}
	if cfg.MLLPTLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.MLLPTLSCert, cfg.MLLPTLSKey)
		if err != nil {
			return "", nil, fmt.Errorf("MLLP TLS certificate: %w", err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", cfg.MLLP)
	if err != nil {
		return "", nil, fmt.Errorf("MLLP listener: %w", err)
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, mllp.ErrServerClosed) {
			log.Error("mllp listener stopped", "err", err)
		}
	}()
	log.Info("HL7 v2 MLLP listening", "addr", ln.Addr().String(), "tls", srv.TLSConfig != nil)
	return ln.Addr().String(), func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		return srv.Shutdown(ctx)
	}, nil
}
