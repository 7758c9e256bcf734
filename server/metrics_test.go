package server_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// scrape reads /metrics and returns each sample ("name{labels}") with its
// value.
func (ts *testServer) scrape() map[string]float64 {
	ts.t.Helper()
	resp, err := http.Get(ts.url + "/metrics")
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		ts.t.Fatalf("/metrics: HTTP %d", resp.StatusCode)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			ts.t.Fatalf("bad sample %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

// waitMetric scrapes until sample satisfies ok: counters move when the
// writer goroutine has finished its write, a moment after the client read.
func (ts *testServer) waitMetric(sample string, ok func(float64) bool) {
	ts.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		v, found := ts.scrape()[sample]
		if found && ok(v) {
			return
		}
		if time.Now().After(deadline) {
			ts.t.Fatalf("%s = %v (present %v) after 10s", sample, v, found)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func equals(want float64) func(float64) bool { return func(v float64) bool { return v == want } }
func positive(v float64) bool                { return v > 0 }

func TestMetricsMoveAfterAPublish(t *testing.T) {
	t.Parallel()
	ts := startServer(t, "")
	other := startServer(t, "")
	before := ts.scrape()
	for _, name := range []string{"uniws_connections", "uniws_subscriptions", "uniws_channels", "uniws_bytes_written_total",
		`uniws_pushes_sent_total{kind="publication"}`, "uniws_connects_total", `uniws_build_info{version="test"}`, "go_goroutines"} {
		if _, ok := before[name]; !ok {
			t.Errorf("no %s before any traffic", name)
		}
	}
	conn, push := ts.connect(`{"token":"` + ts.token("42", time.Hour) + `"}`)
	if !strings.Contains(push, `"#42"`) {
		t.Fatalf("connect push %s", push)
	}
	ts.publish("#42", `{"n":1}`)
	if got := readFrame(t, conn); !strings.Contains(got, `"pub"`) {
		t.Fatalf("publication %s", got)
	}
	ts.waitMetric(`uniws_pushes_sent_total{kind="publication"}`, equals(1))
	ts.waitMetric(`uniws_pushes_sent_total{kind="connect"}`, equals(1))
	ts.waitMetric("uniws_bytes_written_total", positive)
	after := ts.scrape()
	for sample, want := range map[string]float64{
		"uniws_connections":    1,
		"uniws_users":          1,
		"uniws_subscriptions":  1,
		"uniws_channels":       1,
		"uniws_connects_total": 1,
		`uniws_api_requests_total{method="publish",status="ok"}`:     1,
		`uniws_api_request_duration_seconds_count{method="publish"}`: 1,
		"uniws_broker_publish_duration_seconds_count":                1,
		`uniws_disconnects_total{code="3000"}`:                       0,
		`uniws_pushes_sent_total{kind="disconnect"}`:                 0,
	} {
		if after[sample] != want {
			t.Errorf("%s = %v, want %v", sample, after[sample], want)
		}
	}
	// The other server's registry saw none of it.
	if o := other.scrape(); o["uniws_connects_total"] != 0 || o[`uniws_pushes_sent_total{kind="publication"}`] != 0 {
		t.Errorf("metrics leak between servers: %v", o["uniws_connects_total"])
	}

	// API failures by status, disconnects by code.
	if status, _ := ts.api("publish", "wrong", `{"channel":"a","data":{}}`); status != http.StatusUnauthorized {
		t.Fatalf("bad key: %d", status)
	}
	ts.api("publish", testAPIKey, `{"channel":"","data":{}}`)
	ts.api("no_such_method", testAPIKey, `{}`)
	ts.api("disconnect", testAPIKey, `{"user":"42"}`)
	expectClose(t, conn, 3503, "force disconnect")
	bad := ts.dial(nil)
	if err := bad.WriteMessage(websocket.TextMessage, []byte(`{"token":"not.a.token"}`)); err != nil {
		t.Fatal(err)
	}
	expectClose(t, bad, 3500, "invalid token")
	ts.waitMetric(`uniws_disconnects_total{code="3503"}`, equals(1))
	ts.waitMetric(`uniws_disconnects_total{code="3500"}`, equals(1))
	ts.waitMetric("uniws_connections", equals(0))
	final := ts.scrape()
	for sample, want := range map[string]float64{
		`uniws_api_requests_total{method="publish",status="http_401"}`: 1,
		`uniws_api_requests_total{method="publish",status="107"}`:      1,
		`uniws_api_requests_total{method="unknown",status="104"}`:      1,
		`uniws_api_requests_total{method="disconnect",status="ok"}`:    1,
		`uniws_pushes_sent_total{kind="disconnect"}`:                   2,
		"uniws_subscriptions": 0,
	} {
		if final[sample] != want {
			t.Errorf("%s = %v, want %v", sample, final[sample], want)
		}
	}
}

func TestInfoReportsTheNode(t *testing.T) {
	t.Parallel()
	ts := startServer(t, "")
	conn, _ := ts.connect(`{"token":"` + ts.token("7", time.Hour) + `"}`)
	defer conn.Close()
	status, out := ts.api("info", testAPIKey, `{}`)
	if status != http.StatusOK {
		t.Fatalf("info: %d %s", status, out)
	}
	var rep struct {
		Result struct {
			Nodes []struct {
				Name        string `json:"name"`
				Version     string `json:"version"`
				NumClients  int    `json:"num_clients"`
				NumUsers    int    `json:"num_users"`
				NumSubs     int    `json:"num_subs"`
				NumChannels int    `json:"num_channels"`
				Uptime      *int64 `json:"uptime"`
				Process     struct {
					RSS int64 `json:"rss"`
				} `json:"process"`
			} `json:"nodes"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Result.Nodes) != 1 {
		t.Fatalf("info %s: %v", out, err)
	}
	n := rep.Result.Nodes[0]
	host, _ := os.Hostname()
	if want := host + "_" + strconv.Itoa(int(ts.cfg.Port)); n.Name != want {
		t.Errorf("node name %q, want %q (host_port, as Centrifugo names nodes)", n.Name, want)
	}
	if n.Version != "test" || n.NumClients != 1 || n.NumUsers != 1 || n.NumSubs != 1 || n.NumChannels != 1 || n.Uptime == nil || n.Process.RSS <= 0 {
		t.Errorf("info node %s", out)
	}
}
