package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/uniws/uniws/core"
	"github.com/uniws/uniws/server"
)

// TestMain checks for leaked goroutines. go-redis's connection pool, after
// repeated dial failures, probes Redis from a goroutine that sleeps a
// second between probes and notices Close only after its sleep; it is not
// ours to stop, so it is the one goroutine allowed to outlive a test.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/redis/go-redis/v9/internal/pool.(*ConnPool).tryDial"))
}

var fixedNow = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func clock() func() time.Time { return func() time.Time { return fixedNow } }

// TestSeedWalkthrough is the seed scenario of PROTOCOL.md, frame for frame.
func TestSeedWalkthrough(t *testing.T) {
	t.Parallel()
	ts := startServer(t, "", server.WithClock(clock()))
	tok, err := core.SignHMAC(testSecret, core.TokenOptions{User: "test_user", TTL: time.Hour, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	conn, connect := ts.connect(`{"token":"` + tok + `","subs":{"abc":{}}}`)
	want := `{"connect":{"client":"00000000-0000-4000-8000-000000000002","version":"test","subs":{"#test_user":{}},"expires":true,"ttl":3600,"ping":25,"session":"00000000-0000-4000-8000-000000000003"}}`
	if connect != want {
		t.Fatalf("connect push:\n got %s\nwant %s", connect, want)
	}
	if out := ts.publish("abc", `{"x":1}`); out != `{"result":{}}` {
		t.Fatalf("publish abc: %s", out)
	}
	ts.publish("#test_user", `{"text": "hello"}`)
	if got, want := readFrame(t, conn), `{"channel":"#test_user","pub":{"data":{"text": "hello"}}}`; got != want {
		t.Fatalf("publication:\n got %s\nwant %s", got, want)
	}
}

func TestConnectViaQueryParameter(t *testing.T) {
	t.Parallel()
	ts := startServer(t, "")
	q := `{"token":"` + ts.token("u", time.Hour) + `"}`
	conn, _, err := websocket.DefaultDialer.Dial(ts.wsURL()+"?cf_connect="+urlQueryEscape(q), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if got := readFrame(t, conn); !strings.Contains(got, `"subs":{"#u":{}}`) {
		t.Fatalf("connect push %s", got)
	}
	// An empty cf_connect is no cf_connect, as in Centrifugo: the request
	// comes as the first message.
	empty, _, err := websocket.DefaultDialer.Dial(ts.wsURL()+"?cf_connect=", nil)
	if err != nil {
		t.Fatalf("empty cf_connect: %v", err)
	}
	defer empty.Close()
	if err := empty.WriteMessage(websocket.TextMessage, []byte(q)); err != nil {
		t.Fatal(err)
	}
	if got := readFrame(t, empty); !strings.Contains(got, `"subs":{"#u":{}}`) {
		t.Fatalf("connect push after an empty cf_connect: %s", got)
	}
	resp, err := http.Get(ts.url + "/connection/uni_websocket?cf_connect=%7Bnope")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad cf_connect: status %d", resp.StatusCode)
	}
}

func TestChannelsClaimAndClientSubs(t *testing.T) {
	t.Parallel()
	ts := startServer(t, `"namespaces":[{"name":"open","allow_subscribe_for_client":true},{"name":"hist","history_size":10,"history_ttl":"300s"}]`)
	tok, err := core.Sign(jwt.SigningMethodHS256, []byte(testSecret), core.TokenOptions{User: "u", Channels: []string{"news", "open:a"}})
	if err != nil {
		t.Fatal(err)
	}
	conn, connect := ts.connect(`{"token":"` + tok + `","subs":{"open:x":{},"$priv":{},"hist:y":null,"#other":{}}}`)
	if !strings.Contains(connect, `"subs":{"#u":{},"news":{},"open:a":{},"open:x":{}}`) {
		t.Fatalf("connect push %s", connect)
	}
	ts.publish("news", `{"n": 1}`)
	if got := readFrame(t, conn); got != `{"channel":"news","pub":{"data":{"n": 1}}}` {
		t.Fatalf("got %s", got)
	}
	ts.publish("hist:y", `{}`)
	ts.publish("open:x", `{"o": 1}`)
	if got := readFrame(t, conn); got != `{"channel":"open:x","pub":{"data":{"o": 1}}}` {
		t.Fatalf("got %s", got)
	}
}

func TestPositionedConnectAndRecovery(t *testing.T) {
	t.Parallel()
	ts := startServer(t, `"namespaces":[{"name":"hist","history_size":10,"history_ttl":"300s","force_recovery":true}]`)
	for i := 0; i < 3; i++ {
		ts.publish("hist:r", `{"i": `+string(rune('0'+i))+`}`)
	}
	status, out := ts.api("history", testAPIKey, `{"channel":"hist:r","limit":0}`)
	if status != 200 || !strings.Contains(out, `"offset":3`) {
		t.Fatalf("history: %d %s", status, out)
	}
	epoch := between(out, `"epoch":"`, `"`)
	tok, _ := core.Sign(jwt.SigningMethodHS256, []byte(testSecret), core.TokenOptions{User: "u", Channels: []string{"hist:r"}})
	_, connect := ts.connect(`{"token":"` + tok + `"}`)
	if !strings.Contains(connect, `"hist:r":{"recoverable":true,"epoch":"`+epoch+`","offset":3,"positioned":true}`) {
		t.Fatalf("positioned connect %s", connect)
	}
	conn, connect := ts.connect(`{"token":"` + tok + `","subs":{"hist:r":{"recover":true,"offset":1,"epoch":"` + epoch + `"}}}`)
	want := `"hist:r":{"recoverable":true,"epoch":"` + epoch + `","publications":[{"data":{"i": 1},"offset":2},{"data":{"i": 2},"offset":3}],"recovered":true,"offset":1,"positioned":true,"was_recovering":true}`
	if !strings.Contains(connect, want) {
		t.Fatalf("recovered connect\n got %s\nwant %s", connect, want)
	}
	ts.publish("hist:r", `{"i": 3}`)
	if got := readFrame(t, conn); got != `{"channel":"hist:r","pub":{"data":{"i": 3},"offset":4}}` {
		t.Fatalf("live after recovery: %s", got)
	}
	_, connect = ts.connect(`{"token":"` + tok + `","subs":{"hist:r":{"recover":true,"offset":1,"epoch":"otherEpo"}}}`)
	if !strings.Contains(connect, `"hist:r":{"recoverable":true,"epoch":"`+epoch+`","offset":4,"positioned":true,"was_recovering":true}`) {
		t.Fatalf("unrecovered connect %s", connect)
	}
}

func TestAPIPublishHistoryReplies(t *testing.T) {
	t.Parallel()
	ts := startServer(t, `"namespaces":[{"name":"hist","history_size":10,"history_ttl":"300s"}]`)
	_, out := ts.api("publish", testAPIKey, `{"channel":"hist:a","data":{}}`)
	if !strings.HasPrefix(out, `{"result":{"offset":1,"epoch":"`) {
		t.Fatalf("publish with history: %s", out)
	}
	cases := []struct {
		method, body string
		status       int
		want         string
	}{
		{"history", `{"channel":"plain"}`, 200, `{"error":{"code":108,"message":"not available"}}`},
		{"publish", `{"channel":"","data":{}}`, 200, `{"error":{"code":107,"message":"bad request"}}`},
		{"publish", `{"channel":"x"}`, 200, `{"error":{"code":107,"message":"bad request"}}`},
		{"publish", `{"channel":"nope:x","data":{}}`, 200, `{"error":{"code":102,"message":"unknown channel"}}`},
		{"publish", `{nope`, 400, `bad request`},
		{"history", `{"channel":"hist:a","since":{"offset":5,"epoch":"zzzzzzzz"}}`, 200, `{"error":{"code":112,"message":"unrecoverable position"}}`},
		{"history", `{"channel":"hist:a","since":{"offset":0},"reverse":true,"limit":5}`, 200, `{"error":{"code":107,"message":"bad request"}}`},
		{"nosuch", `{}`, 200, `{"error":{"code":104,"message":"not found"}}`},
		{"channels", `{}`, 200, `{"result":{"channels":{}}}`},
	}
	for _, c := range cases {
		status, out := ts.api(c.method, testAPIKey, c.body)
		if status != c.status || out != c.want {
			t.Errorf("%s %s: got %d %s, want %d %s", c.method, c.body, status, out, c.status, c.want)
		}
	}
}

// TestHistorySinceOutsideTheStream: as in Centrifugo, a since past the top
// gives no publications and one before what the stream keeps gives the
// stream from its oldest publication; only another epoch is 112.
func TestHistorySinceOutsideTheStream(t *testing.T) {
	t.Parallel()
	ts := startServer(t, `"namespaces":[{"name":"hist","history_size":2,"history_ttl":"300s"}]`)
	for i := 1; i <= 3; i++ {
		ts.publish("hist:o", fmt.Sprintf(`{"i":%d}`, i))
	}
	_, epoch := topOf(t, ts, "hist:o")
	for since, want := range map[string]string{
		`{"offset":9,"epoch":"` + epoch + `"}`: `{"result":{"publications":[],"offset":3,"epoch":"` + epoch + `"}}`,
		`{"offset":3}`:                         `{"result":{"publications":[],"offset":3,"epoch":"` + epoch + `"}}`,
		`{"offset":0,"epoch":"` + epoch + `"}`: `{"result":{"publications":[{"data":{"i":2},"offset":2},{"data":{"i":3},"offset":3}],"offset":3,"epoch":"` + epoch + `"}}`,
		`{"offset":1}`:                         `{"result":{"publications":[{"data":{"i":2},"offset":2},{"data":{"i":3},"offset":3}],"offset":3,"epoch":"` + epoch + `"}}`,
		`{"offset":1,"epoch":"other"}`:         `{"error":{"code":112,"message":"unrecoverable position"}}`,
	} {
		if _, out := ts.api("history", testAPIKey, `{"channel":"hist:o","limit":10,"since":`+since+`}`); out != want {
			t.Errorf("since %s:\n got %s\nwant %s", since, out, want)
		}
	}
	// Backwards: before since; from one past the top, all; further, none.
	for since, want := range map[int]string{
		3: `[{"data":{"i":2},"offset":2}]`,
		4: `[{"data":{"i":3},"offset":3},{"data":{"i":2},"offset":2}]`,
		9: `[]`,
	} {
		body := fmt.Sprintf(`{"channel":"hist:o","limit":10,"reverse":true,"since":{"offset":%d}}`, since)
		if _, out := ts.api("history", testAPIKey, body); !strings.HasPrefix(out, `{"result":{"publications":`+want+`,`) {
			t.Errorf("reverse since %d: %s, want publications %s", since, out, want)
		}
	}
}

func TestAPIAuth(t *testing.T) {
	t.Parallel()
	ts := startServer(t, "")
	for _, key := range []string{"", "wrong"} {
		status, out := ts.api("publish", key, `{"channel":"a","data":{}}`)
		if status != http.StatusUnauthorized || out != "" {
			t.Errorf("key %q: %d %q", key, status, out)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, ts.url+"/api/info", nil)
	req.Header.Set("Authorization", "apikey "+testAPIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("Authorization apikey: %d", resp.StatusCode)
	}
}

func TestLegacyAPIEnvelope(t *testing.T) {
	t.Parallel()
	ts := startServer(t, "")
	req, _ := http.NewRequest(http.MethodPost, ts.url+"/api", strings.NewReader(
		`{"id":1,"method":"publish","params":{"channel":"a","data":{}}}`+"\n"+`{"id":2,"method":"publish","params":{"channel":""}}`))
	req.Header.Set("X-API-Key", testAPIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body := readAll(t, resp)
	want := `{"id":1,"result":{}}` + "\n" + `{"id":2,"error":{"code":107,"message":"bad request"}}`
	if body != want {
		t.Fatalf("legacy:\n got %s\nwant %s", body, want)
	}
}

func TestAPIDisconnectAndShutdown(t *testing.T) {
	t.Parallel()
	ts := startServer(t, "")
	conn, _ := ts.connect(`{"token":"` + ts.token("u1", time.Hour) + `"}`)
	_, out := ts.api("disconnect", testAPIKey, `{"user":"u1","disconnect":{"code":3011,"reason":"force reconnect"}}`)
	if out != `{"result":{}}` {
		t.Fatalf("disconnect: %s", out)
	}
	frames := expectClose(t, conn, 3011, "force reconnect")
	if len(frames) != 1 || frames[0] != `{"disconnect":{"code":3011,"reason":"force reconnect"}}` {
		t.Fatalf("frames before close: %q", frames)
	}
	conn2, _ := ts.connect(`{"token":"` + ts.token("u2", time.Hour) + `"}`)
	go ts.srv.Shutdown()
	frames = expectClose(t, conn2, 3001, "shutdown")
	if len(frames) != 1 || frames[0] != `{"disconnect":{"code":3001,"reason":"shutdown"}}` {
		t.Fatalf("frames before shutdown close: %q", frames)
	}
}

func TestOriginCheck(t *testing.T) {
	t.Parallel()
	cases := []struct {
		allowed string
		origin  string
		ok      bool
	}{
		{"", "", true},
		{"", "http://evil.example", false},
		{"", "http://HOST", true},
		{`"allowed_origins":["*"]`, "http://evil.example", true},
		{`"allowed_origins":["https://*.example.com"]`, "https://app.example.com", true},
		{`"allowed_origins":["https://*.example.com"]`, "https://example.org", false},
	}
	for _, c := range cases {
		ts := startServer(t, c.allowed)
		h := http.Header{}
		origin := strings.ReplaceAll(c.origin, "HOST", strings.TrimPrefix(ts.url, "http://"))
		if origin != "" {
			h.Set("Origin", origin)
		}
		conn, resp, err := websocket.DefaultDialer.Dial(ts.wsURL(), h)
		if c.ok {
			if err != nil {
				t.Errorf("%s origin %q: %v", c.allowed, origin, err)
				continue
			}
			conn.Close()
		} else if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s origin %q: want 403, got %v", c.allowed, origin, err)
			if conn != nil {
				conn.Close()
			}
		}
	}
}

func TestHealth(t *testing.T) {
	t.Parallel()
	ts := startServer(t, "")
	resp, err := http.Get(ts.url + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("health: %d", resp.StatusCode)
	}
}

// TestPublishB64DataWinsOverData: with both, b64data is published, as in
// Centrifugo.
func TestPublishB64DataWinsOverData(t *testing.T) {
	t.Parallel()
	ts := startServer(t, "")
	conn, _ := ts.connect(`{"token":"` + ts.token("u", time.Hour) + `"}`)
	// eyJiIjogMn0= is {"b": 2}
	if status, out := ts.api("publish", testAPIKey, `{"channel":"#u","data":{"a":1},"b64data":"eyJiIjogMn0="}`); status != 200 || out != `{"result":{}}` {
		t.Fatalf("publish: %d %s", status, out)
	}
	if got := readFrame(t, conn); got != `{"channel":"#u","pub":{"data":{"b": 2}}}` {
		t.Fatalf("got %s", got)
	}
}
