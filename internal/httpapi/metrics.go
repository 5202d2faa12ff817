package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds the Prometheus collectors the server exports at /metrics.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	dbTime   *prometheus.HistogramVec
}

// NewMetrics registers Junction's collectors (and the Go runtime and
// process collectors) in a fresh registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "junction_http_requests_total",
			Help: "HTTP requests by FHIR interaction and status code.",
		}, []string{"interaction", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "junction_http_request_duration_seconds",
			Help:    "HTTP request latency by FHIR interaction.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"interaction"}),
		dbTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "junction_db_duration_seconds",
			Help:    "Database call latency by store operation.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5},
		}, []string{"op"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.dbTime,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func (m *Metrics) observeRequest(interaction string, status int, d time.Duration) {
	m.requests.WithLabelValues(interaction, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(interaction).Observe(d.Seconds())
}

// ObserveDB records the duration of one store call.
func (m *Metrics) ObserveDB(op string, d time.Duration) {
	m.dbTime.WithLabelValues(op).Observe(d.Seconds())
}
