package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// State is what the gauges read when /metrics is scraped. Its methods are
// called from the scraping goroutine and must be safe for concurrent use.
type State interface {
	NumClients() int
	NumUsers() int
	NumSubscriptions() int
	NumChannels() int
}

// NewRegistry returns a registry of its own holding the Go runtime and
// process collectors, for one server.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// RegisterState registers the gauges that read s at scrape time
// (uniws_connections, uniws_users, uniws_subscriptions, uniws_channels)
// and uniws_build_info.
func RegisterState(reg prometheus.Registerer, s State, version string) {
	gauge := func(name, help string, f func() int) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return float64(f()) })
	}
	reg.MustRegister(
		gauge("uniws_connections", "Connected clients on this node.", s.NumClients),
		gauge("uniws_users", "Distinct users connected to this node (anonymous counts as one).", s.NumUsers),
		gauge("uniws_subscriptions", "Channel subscriptions of the clients on this node.", s.NumSubscriptions),
		gauge("uniws_channels", "Channels with at least one subscriber on this node.", s.NumChannels),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "uniws_build_info",
			Help:        "Always 1; the version label names the running build.",
			ConstLabels: prometheus.Labels{"version": version},
		}, func() float64 { return 1 }),
	)
}

// Handler serves the metrics of gatherer in the Prometheus exposition
// formats.
func Handler(gatherer prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{})
}
