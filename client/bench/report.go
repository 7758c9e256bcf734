package bench

import "time"

// Report is the outcome of a run, shaped for JSON. Sections that a run
// does not produce (no publishing, no --pid, no API) are nil.
type Report struct {
	Target    Target          `json:"target"`
	Settings  Settings        `json:"settings"`
	FileLimit FileLimit       `json:"file_limit"`
	Connect   ConnectReport   `json:"connect"`
	Publish   *PublishReport  `json:"publish,omitempty"`
	Delivery  *DeliveryReport `json:"delivery,omitempty"`
	Latency   *Percentiles    `json:"latency_ms,omitempty"`
	Generator Generator       `json:"generator"`
	Server    *ServerReport   `json:"server,omitempty"`
	Info      *InfoReport     `json:"info,omitempty"`
	Samples   []Sample        `json:"samples,omitempty"`
	// Disconnects counts connections the server ended during the run, by
	// reason ("disconnect 3008 slow", "read: closed by server", ...).
	Disconnects map[string]int `json:"disconnects,omitempty"`
	Interrupted bool           `json:"interrupted,omitempty"`
	Notes       []string       `json:"notes,omitempty"`
}

// Target says what was measured.
type Target struct {
	URL       string   `json:"url"`
	API       string   `json:"api,omitempty"`
	PID       int      `json:"pid,omitempty"`
	SourceIPs []string `json:"source_ips,omitempty"`
}

// Settings are the run's parameters after defaults.
type Settings struct {
	Channel         string  `json:"channel"`
	Conns           int     `json:"conns"`
	DialConcurrency int     `json:"dial_concurrency"`
	Messages        int64   `json:"messages"`
	Payload         int     `json:"payload_bytes"`
	Rate            float64 `json:"rate,omitempty"`
	Inflight        int     `json:"inflight"`
	MaxBacklog      int64   `json:"max_backlog"`
	Duration        float64 `json:"duration_seconds,omitempty"`
	Hold            float64 `json:"hold_seconds,omitempty"`
	SharedUser      bool    `json:"shared_user"`
}

// FileLimit is RLIMIT_NOFILE before and after the run raised it.
type FileLimit struct {
	SoftBefore uint64 `json:"soft_before"`
	Soft       uint64 `json:"soft"`
	Hard       uint64 `json:"hard"`
}

// ConnectReport covers the connect phase: dial, upgrade, connect request,
// connect push.
type ConnectReport struct {
	Attempted int            `json:"attempted"`
	Connected int            `json:"connected"`
	Failed    int            `json:"failed"`
	Failures  map[string]int `json:"failures,omitempty"`
	Seconds   float64        `json:"seconds"`
	PerSecond float64        `json:"per_second"`
	Latency   Percentiles    `json:"latency_ms"`
}

// PublishReport covers the HTTP API publishes.
type PublishReport struct {
	Published int64          `json:"published"`
	Failed    int64          `json:"failed"`
	Failures  map[string]int `json:"failures,omitempty"`
	// Unconfirmed publishes were cut short by the run's end (an
	// interrupt, a refused key) before the answer: the server may have
	// taken them, so their deliveries may come on top of the expected ones.
	Unconfirmed int64   `json:"unconfirmed,omitempty"`
	Seconds     float64 `json:"seconds"`
	PerSecond   float64 `json:"per_second"`
	// Latency is the API call's round trip, of the calls answered.
	Latency Percentiles `json:"latency_ms"`
	// MaxScheduleLagMS is how far, at worst, publishing fell behind --rate.
	MaxScheduleLagMS float64 `json:"max_schedule_lag_ms,omitempty"`
	// Stalled is set when deliveries stopped progressing and publishing
	// gave up.
	Stalled bool `json:"stalled,omitempty"`
}

// DeliveryReport covers what the connections received. Expected is
// publishes times connections; Lost is Expected less Unique.
type DeliveryReport struct {
	Expected   int64 `json:"expected"`
	Unique     int64 `json:"unique"`
	Lost       int64 `json:"lost"`
	Duplicates int64 `json:"duplicates"`
	// OutOfOrder counts publications that arrived after one with a higher
	// seq; with --inflight above 1 publishes overlap and may reach the
	// server out of seq order, so these are expected then.
	OutOfOrder int64 `json:"out_of_order"`
	// OrderDiffers counts connections that got every publication but in
	// an order other than most connections got them in.
	OrderDiffers int     `json:"order_differs_conns"`
	TooLate      int64   `json:"too_late_to_check,omitempty"`
	Seconds      float64 `json:"seconds"`
	PerSecond    float64 `json:"per_second"`
	Frames       int64   `json:"frames"`
	// PubFrames counts the frames that carried publications; PerFrame is
	// publications per such frame (above 1 when the server joins pushes).
	PubFrames   int64   `json:"publication_frames"`
	PerFrame    float64 `json:"pushes_per_frame"`
	Pings       int64   `json:"pings"`
	WSPings     int64   `json:"ws_pings"`
	OtherPushes int64   `json:"other_pushes,omitempty"`
}

// Percentiles summarise a histogram, in milliseconds.
type Percentiles struct {
	Count uint64  `json:"count"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

func percentiles(h *Histogram) Percentiles {
	return Percentiles{Count: h.Count(), Mean: ms(h.Mean()), P50: ms(h.Quantile(0.5)),
		P90: ms(h.Quantile(0.9)), P99: ms(h.Quantile(0.99)), Max: ms(h.Max())}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Generator is the load generator's own CPU use, to tell a saturated
// generator from a slow server. CPUs is what it may run on.
type Generator struct {
	CPUs int `json:"cpus"`
	// Reader is how connections were read: ReaderRing or ReaderGoroutines.
	Reader string `json:"reader"`
	// ReadWaitMicros is how long the io_uring reader let a received frame
	// wait for others before waking (0: it woke for each).
	ReadWaitMicros    float64 `json:"read_wait_us,omitempty"`
	ConnectCPUSeconds float64 `json:"connect_cpu_seconds"`
	PublishCPUSeconds float64 `json:"publish_cpu_seconds,omitempty"`
	// PublishCores is CPU seconds per second during publishing; close to
	// CPUs means the generator, not the server, set the pace.
	PublishCores float64 `json:"publish_cores,omitempty"`
	// ReaderCores is PublishCores for the io_uring reader's one thread,
	// which reads every connection: at 1 it set the pace, whatever the
	// process's other threads left of CPUs.
	ReaderCores float64 `json:"reader_cores,omitempty"`
	Saturated   bool    `json:"saturated,omitempty"`
	// The Wait figures are how long its threads were ready to run but
	// waited for a CPU, taken by other processes (Linux schedstat).
	ConnectWaitSeconds float64 `json:"connect_cpu_wait_seconds"`
	PublishWaitSeconds float64 `json:"publish_cpu_wait_seconds,omitempty"`
}

// ServerReport holds the server's figures from /proc (--pid).
type ServerReport struct {
	RSSBefore        int64   `json:"rss_before_bytes"`
	RSSConnected     int64   `json:"rss_connected_bytes"`
	RSSAfter         int64   `json:"rss_after_bytes,omitempty"`
	RSSPerConn       float64 `json:"rss_per_conn_bytes"`
	ThreadsBefore    int     `json:"threads_before"`
	ThreadsConnected int     `json:"threads_connected"`
	ThreadsAfter     int     `json:"threads_after,omitempty"`
	ConnectCPU       float64 `json:"connect_cpu_seconds"`
	ConnectCPUPerCon float64 `json:"connect_cpu_ms_per_conn"`
	PublishCPU       float64 `json:"publish_cpu_seconds,omitempty"`
	PublishCores     float64 `json:"publish_cores,omitempty"`
	// PublishWait is how long the server's threads were ready to run but
	// waited for a CPU during the publish phase: time other processes
	// took from it.
	PublishWait float64 `json:"publish_cpu_wait_seconds,omitempty"`
	// CPUPerMillion is server CPU seconds per million deliveries.
	CPUPerMillion float64 `json:"cpu_seconds_per_million,omitempty"`
}

// InfoReport holds the numeric fields of each node in the API info
// result (nested objects flattened with dots), at three moments.
type InfoReport struct {
	Before    []map[string]float64 `json:"before,omitempty"`
	Connected []map[string]float64 `json:"connected,omitempty"`
	After     []map[string]float64 `json:"after,omitempty"`
}

// Sample is one periodic reading during a run (--sample).
type Sample struct {
	At         float64            `json:"at_seconds"`
	Conns      int                `json:"conns"`
	Unique     int64              `json:"unique"`
	RSS        int64              `json:"rss_bytes,omitempty"`
	Threads    int                `json:"threads,omitempty"`
	ServerCPU  float64            `json:"server_cpu_seconds,omitempty"`
	NumClients *float64           `json:"num_clients,omitempty"`
	Info       map[string]float64 `json:"info,omitempty"`
}
