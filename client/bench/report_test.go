package bench

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
)

// fullReport is a report with every section present.
func fullReport() *Report {
	clients := 3.0
	return &Report{
		Target:    Target{URL: "ws://127.0.0.1:8000/connection/uni_websocket", API: "http://127.0.0.1:8000", PID: 7, SourceIPs: []string{"127.0.0.1", "127.0.0.2"}},
		Settings:  Settings{Channel: "bench", Conns: 3, Messages: 10, Payload: 128, Inflight: 32, MaxBacklog: 50},
		FileLimit: FileLimit{SoftBefore: 1024, Soft: 20000, Hard: 20000},
		Connect:   ConnectReport{Attempted: 4, Connected: 3, Failed: 1, Failures: map[string]int{"dial: timeout": 1}, Seconds: 0.5, PerSecond: 6},
		Publish:   &PublishReport{Published: 10, Seconds: 1, PerSecond: 10, MaxScheduleLagMS: 2},
		Delivery:  &DeliveryReport{Expected: 30, Unique: 29, Lost: 1, Seconds: 1, PerSecond: 29, Frames: 29, PerFrame: 1},
		Latency:   &Percentiles{Count: 29, Mean: 1.5, P50: 1.2, P90: 2, P99: 3.5, Max: 4},
		Generator: Generator{CPUs: 1, Reader: ReaderRing, ReadWaitMicros: 100, ConnectCPUSeconds: 0.1, PublishCPUSeconds: 0.9, PublishCores: 0.95, Saturated: true},
		Server:    &ServerReport{RSSBefore: 10 << 20, RSSConnected: 11 << 20, RSSPerConn: 16384, CPUPerMillion: 2.5},
		Info:      &InfoReport{Before: []map[string]float64{{"num_clients": 0}}, Connected: []map[string]float64{{"num_clients": 3}}},
		Samples: []Sample{{At: 0, Conns: 3, RSS: 11 << 20, Threads: 6, NumClients: &clients, Info: map[string]float64{"num_clients": 3, "goroutines": 9}},
			{At: 10, Conns: 3, RSS: 12 << 20, Threads: 6, NumClients: &clients, Info: map[string]float64{"num_clients": 3, "goroutines": 9}}},
		Disconnects: map[string]int{"disconnect 3008 slow": 1},
		Notes:       []string{"a note"},
	}
}

// TestReportJSONShape fixes the JSON summary's field names: scripts read
// them.
func TestReportJSONShape(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(fullReport())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"":           {"connect", "delivery", "disconnects", "file_limit", "generator", "info", "latency_ms", "notes", "publish", "samples", "server", "settings", "target"},
		"connect":    {"attempted", "connected", "failed", "failures", "latency_ms", "per_second", "seconds"},
		"publish":    {"failed", "latency_ms", "max_schedule_lag_ms", "per_second", "published", "seconds"},
		"delivery":   {"duplicates", "expected", "frames", "lost", "order_differs_conns", "out_of_order", "per_second", "pings", "publication_frames", "pushes_per_frame", "seconds", "unique", "ws_pings"},
		"latency_ms": {"count", "max", "mean", "p50", "p90", "p99"},
		"generator":  {"connect_cpu_seconds", "connect_cpu_wait_seconds", "cpus", "publish_cores", "publish_cpu_seconds", "read_wait_us", "reader", "saturated"},
		"server": {"connect_cpu_ms_per_conn", "connect_cpu_seconds", "cpu_seconds_per_million", "rss_before_bytes", "rss_connected_bytes",
			"rss_per_conn_bytes", "threads_before", "threads_connected"},
		"file_limit": {"hard", "soft", "soft_before"},
	}
	for section, keys := range want {
		obj := m
		if section != "" {
			obj = nil
			if err := json.Unmarshal(m[section], &obj); err != nil {
				t.Fatalf("%s: %v", section, err)
			}
		}
		if got := slices.Sorted(maps.Keys(obj)); !slices.Equal(got, keys) {
			t.Errorf("%q keys = %q, want %q", section, got, keys)
		}
	}
}

func TestWriteTextShowsEverySection(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := fullReport().WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		"target", "from 2 source addresses 127.0.0.1..127.0.0.2", "3/3 in 0.50s", "1 failed: dial: timeout",
		"publish", "fell behind --rate by up to 2.0 ms", "29/30  lost 1", "p50 1.20  p90 2  p99 3.50  max 4",
		"reads with io_uring (read wait 100 µs)", "SATURATED", "RSS 10.0 MiB before, 11.0 MiB connected (16.0 KiB per connection)", "2.50 s per 1M deliveries",
		"num_clients  0 -> 3", "2 over 10s", "RSS 11.0 MiB -> 12.0 MiB", "goroutines 9 -> 9",
		"disconnected  1: disconnect 3008 slow", "a note",
	} {
		if !strings.Contains(buf.String(), s) {
			t.Errorf("table lacks %q:\n%s", s, buf.String())
		}
	}
}

// TestPaceNote: the note appears when the generator's CPU per delivery
// reaches the server's, and not when the generator is saturated (reported
// otherwise), clearly cheaper, or the server's CPU is unknown.
func TestPaceNote(t *testing.T) {
	t.Parallel()
	const n = 600_000
	for _, tc := range []struct {
		name      string
		g         Generator
		s         *ServerReport
		want      bool
		genAndSrv string
	}{
		{"generator as slow as the server", Generator{CPUs: 1, PublishCPUSeconds: 9.8}, &ServerReport{PublishCPU: 9.0}, true, "16.3 µs of CPU per delivery and the server 15.0 µs"},
		{"generator a little cheaper", Generator{CPUs: 1, PublishCPUSeconds: 8.4}, &ServerReport{PublishCPU: 9.0}, true, "14.0 µs"},
		{"generator clearly cheaper", Generator{CPUs: 1, PublishCPUSeconds: 12.0}, &ServerReport{PublishCPU: 14.3}, false, ""},
		{"two generator cores", Generator{CPUs: 2, PublishCPUSeconds: 9.8}, &ServerReport{PublishCPU: 9.0}, false, ""},
		{"saturated", Generator{CPUs: 1, PublishCPUSeconds: 9.8, Saturated: true}, &ServerReport{PublishCPU: 9.0}, false, ""},
		{"no --pid", Generator{CPUs: 1, PublishCPUSeconds: 9.8}, nil, false, ""},
		{"no server CPU", Generator{CPUs: 1, PublishCPUSeconds: 9.8}, &ServerReport{}, false, ""},
	} {
		got := paceNote(&tc.g, tc.s, n)
		if (got != "") != tc.want || !strings.Contains(got, tc.genAndSrv) {
			t.Errorf("%s: %q", tc.name, got)
		}
	}
	if got := paceNote(&Generator{CPUs: 1, PublishCPUSeconds: 1}, &ServerReport{PublishCPU: 1}, 0); got != "" {
		t.Errorf("no deliveries: %q", got)
	}
}
