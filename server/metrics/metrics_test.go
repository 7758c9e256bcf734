package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// gather returns each sample of reg as "name{label=value,...}" -> value.
func gather(t *testing.T, g prometheus.Gatherer) map[string]float64 {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			key := f.GetName()
			if len(labels) > 0 {
				key += "{" + strings.Join(labels, ",") + "}"
			}
			out[key] = value(m)
		}
	}
	return out
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return 0
}

type fakeState struct{}

func (fakeState) NumClients() int       { return 3 }
func (fakeState) NumUsers() int         { return 2 }
func (fakeState) NumSubscriptions() int { return 5 }
func (fakeState) NumChannels() int      { return 4 }

func TestCollectorsStayOnTheirRegistry(t *testing.T) {
	t.Parallel()
	regA, regB := prometheus.NewRegistry(), prometheus.NewRegistry()
	a, b := New(regA), New(regB)
	RegisterState(regA, fakeState{}, "1.2.3")
	a.Pushes.Publication.Add(10)
	a.BytesWritten.Add(100)
	a.Disconnect(3500)
	a.Disconnect(4001)
	a.Disconnect(1000)
	a.Disconnect(99999)
	a.API("publish", "ok", time.Millisecond)
	a.EngineError("publish")
	a.BrokerPublish.Observe(0.001)
	b.Pushes.Ping.Inc()

	got := gather(t, regA)
	for sample, want := range map[string]float64{
		"uniws_pushes_sent_total{kind=publication}":          10,
		"uniws_pushes_sent_total{kind=ping}":                 0,
		"uniws_bytes_written_total":                          100,
		"uniws_disconnects_total{code=3500}":                 1,
		"uniws_disconnects_total{code=4001}":                 1,
		"uniws_disconnects_total{code=other}":                2,
		"uniws_api_requests_total{method=publish,status=ok}": 1,
		"uniws_api_request_duration_seconds{method=publish}": 1,
		"uniws_engine_errors_total{op=publish}":              1,
		"uniws_broker_publish_duration_seconds":              1,
		"uniws_connections":                                  3,
		"uniws_users":                                        2,
		"uniws_subscriptions":                                5,
		"uniws_channels":                                     4,
		"uniws_build_info{version=1.2.3}":                    1,
	} {
		if v, ok := got[sample]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", sample, v, ok, want)
		}
	}
	if v := gather(t, regB)["uniws_pushes_sent_total{kind=ping}"]; v != 1 {
		t.Errorf("second registry ping = %v", v)
	}
	for name := range gather(t, prometheus.DefaultGatherer) {
		if strings.HasPrefix(name, "uniws_") {
			t.Errorf("%s is on the global registry", name)
		}
	}
}

func TestUnregisteredCollectorsCount(t *testing.T) {
	t.Parallel()
	c := New(nil)
	c.Pushes.Connect.Inc()
	c.Disconnect(3001)
	c.API("info", "ok", 0)
	reg := prometheus.NewRegistry()
	reg.MustRegister(c.BytesWritten)
	if _, err := reg.Gather(); err != nil {
		t.Fatal(err)
	}
	if got := gather(t, NewRegistry()); got["go_goroutines"] <= 0 {
		t.Error("NewRegistry lacks the Go collector")
	}
}

// BenchmarkDeliveryCounters is the per-push cost on the delivery path.
func BenchmarkDeliveryCounters(b *testing.B) {
	c := New(prometheus.NewRegistry())
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Pushes.Publication.Inc()
			c.BytesWritten.Add(512)
		}
	})
}
