// Package metrics holds the Prometheus collectors of one uniws server. Each
// server builds its own Collectors on its own registry; nothing is
// registered globally. Every metric is named uniws_*.
//
// The delivery path only touches pre-resolved counters (an atomic add each,
// no label lookup): the fields below are ready to use, and Disconnect and
// API look their labels up once per event, never per delivered push.
package metrics

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/uniws/uniws/core"
)

// Push kinds, the values of uniws_pushes_sent_total's kind label.
const (
	KindConnect     = "connect"
	KindPublication = "publication"
	KindPing        = "ping"
	KindDisconnect  = "disconnect"
	KindSubscribe   = "subscribe"
	KindUnsubscribe = "unsubscribe"
	KindJoin        = "join"
	KindLeave       = "leave"
	KindRefresh     = "refresh"
	KindMessage     = "message"
)

// Pushes counts pushes queued for clients, one counter per kind.
type Pushes struct {
	Connect, Publication, Ping, Disconnect, Subscribe,
	Unsubscribe, Join, Leave, Refresh, Message prometheus.Counter
}

// Collectors are one server's metrics. All methods and counters are safe
// for concurrent use.
type Collectors struct {
	// Pushes counts pushes queued for clients, by kind.
	Pushes Pushes
	// BytesWritten counts bytes written to WebSocket connections (one add
	// per write batch).
	BytesWritten prometheus.Counter
	// Connects counts connections that got their connect push.
	Connects prometheus.Counter
	// SlowConsumerDrops counts sessions closed with 3008 because their
	// queue outgrew client_queue_max_size.
	SlowConsumerDrops prometheus.Counter
	// BrokerPublish observes how long the engine takes to publish.
	BrokerPublish prometheus.Observer

	disconnects *prometheus.CounterVec
	known       map[uint32]prometheus.Counter
	apiRequests *prometheus.CounterVec
	apiDuration *prometheus.HistogramVec
	engineErrs  *prometheus.CounterVec
}

// New builds the collectors and registers them on reg; a nil reg leaves
// them unregistered (they still count). It panics if reg already holds
// uniws metrics, which is a programming error.
func New(reg prometheus.Registerer) *Collectors {
	pushes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "uniws_pushes_sent_total",
		Help: "Pushes queued for clients, by kind (connect, publication, ping, disconnect, subscribe, unsubscribe, ...).",
	}, []string{"kind"})
	c := &Collectors{
		BytesWritten: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "uniws_bytes_written_total",
			Help: "Bytes written to uni_websocket connections, frames included.",
		}),
		Connects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "uniws_connects_total",
			Help: "Connections that were accepted and got their connect push.",
		}),
		SlowConsumerDrops: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "uniws_slow_consumer_drops_total",
			Help: "Connections closed with 3008 slow because their queue outgrew client_queue_max_size.",
		}),
		disconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "uniws_disconnects_total",
			Help: "Ended connections by disconnect code (3000 when the peer went away).",
		}, []string{"code"}),
		apiRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "uniws_api_requests_total",
			Help: `Server API calls by method and status: "ok", an API error code such as "107", or "http_<status>" for requests refused before the method ran.`,
		}, []string{"method", "status"}),
		apiDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "uniws_api_request_duration_seconds",
			Help:    "Server API call latency by method.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"method"}),
		engineErrs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "uniws_engine_errors_total",
			Help: "Failed engine (memory or Redis) operations by operation.",
		}, []string{"op"}),
	}
	publish := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "uniws_broker_publish_duration_seconds",
		Help:    "How long the engine takes to store and deliver one publication.",
		Buckets: []float64{.00001, .000025, .00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
	})
	c.BrokerPublish = publish
	c.Pushes = Pushes{
		Connect: pushes.WithLabelValues(KindConnect), Publication: pushes.WithLabelValues(KindPublication),
		Ping: pushes.WithLabelValues(KindPing), Disconnect: pushes.WithLabelValues(KindDisconnect),
		Subscribe: pushes.WithLabelValues(KindSubscribe), Unsubscribe: pushes.WithLabelValues(KindUnsubscribe),
		Join: pushes.WithLabelValues(KindJoin), Leave: pushes.WithLabelValues(KindLeave),
		Refresh: pushes.WithLabelValues(KindRefresh), Message: pushes.WithLabelValues(KindMessage),
	}
	c.known = make(map[uint32]prometheus.Counter)
	for _, code := range []core.Code{
		core.CodeMessageTooBig, core.CodeConnectionClosed, core.CodeShutdown, core.CodeInternal, core.CodeExpired,
		core.CodeSlow, core.CodeWriteError, core.CodeInsufficientState, core.CodeForceReconnect, core.CodeInvalidToken,
		core.CodeBadRequest, core.CodeStale, core.CodeForceDisconnect, core.CodeConnectionLimit, core.CodeChannelLimit,
		core.CodeInappropriateProtocol, core.CodePermissionDenied,
	} {
		c.known[uint32(code)] = c.disconnects.WithLabelValues(strconv.Itoa(int(code)))
	}
	if reg != nil {
		reg.MustRegister(pushes, c.BytesWritten, c.Connects, c.SlowConsumerDrops, c.disconnects,
			c.apiRequests, c.apiDuration, publish, c.engineErrs)
	}
	return c
}

// Disconnect counts an ended connection by its code. Codes outside the
// known set and the 3000-4999 application range count as "other", so that
// the label stays bounded.
func (c *Collectors) Disconnect(code uint32) {
	if k, ok := c.known[code]; ok {
		k.Inc()
		return
	}
	label := "other"
	if code >= 3000 && code <= 4999 {
		label = strconv.Itoa(int(code))
	}
	c.disconnects.WithLabelValues(label).Inc()
}

// API counts one server API call and observes its latency. method must
// come from the API's own method table (or be "unknown"), never from the
// request, so that the label stays bounded.
func (c *Collectors) API(method, status string, d time.Duration) {
	c.apiRequests.WithLabelValues(method, status).Inc()
	c.apiDuration.WithLabelValues(method).Observe(d.Seconds())
}

// EngineError counts a failed engine operation ("publish", "history",
// "subscribe", ...).
func (c *Collectors) EngineError(op string) {
	c.engineErrs.WithLabelValues(op).Inc()
}
