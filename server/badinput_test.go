package server_test

import (
	"crypto/rand"
	"crypto/rsa"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"
)

// TestBadInputs sends each bad input and checks its documented answer, then
// that a client connected beforehand still receives its next publication.
func TestBadInputs(t *testing.T) {
	t.Parallel()
	ts := startServer(t, `"client_stale_close_delay":"300ms"`)
	watcher, _ := ts.connect(`{"token":"` + ts.token("watcher", time.Hour) + `"}`)

	sign := func(method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
		tok, err := jwt.NewWithClaims(method, claims).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	exp := time.Now().Add(time.Hour).Unix()
	valid := ts.token("u", time.Hour)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	push := func(code int, reason string) []string {
		return []string{`{"disconnect":{"code":` + itoa(code) + `,"reason":"` + reason + `"}}`}
	}

	ws := []struct {
		name    string
		msgType int
		frame   string // "" with silent set sends nothing
		silent  bool
		pongs   bool // send a Pong every 100 ms meanwhile
		code    int
		reason  string
		frames  []string
	}{
		{name: "tampered token", frame: `{"token":"` + valid[:len(valid)-3] + `abc"}`, code: 3500, reason: "invalid token", frames: push(3500, "invalid token")},
		{name: "garbage token", frame: `{"token":"bad"}`, code: 3500, reason: "invalid token", frames: push(3500, "invalid token")},
		{name: "alg none", frame: `{"token":"` + sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, jwt.MapClaims{"sub": "u", "exp": exp}) + `"}`, code: 3500, reason: "invalid token", frames: push(3500, "invalid token")},
		{name: "RS256 with only an HMAC key", frame: `{"token":"` + sign(jwt.SigningMethodRS256, rsaKey, jwt.MapClaims{"sub": "u", "exp": exp}) + `"}`, code: 3500, reason: "invalid token", frames: push(3500, "invalid token")},
		{name: "wrong secret", frame: `{"token":"` + sign(jwt.SigningMethodHS256, []byte("other"), jwt.MapClaims{"sub": "u", "exp": exp}) + `"}`, code: 3500, reason: "invalid token", frames: push(3500, "invalid token")},
		{name: "channel claim", frame: `{"token":"` + sign(jwt.SigningMethodHS256, []byte(testSecret), jwt.MapClaims{"sub": "u", "exp": exp, "channel": "news"}) + `"}`, code: 3500, reason: "invalid token", frames: push(3500, "invalid token")},
		{name: "expired token", frame: `{"token":"` + sign(jwt.SigningMethodHS256, []byte(testSecret), jwt.MapClaims{"sub": "u", "exp": time.Now().Add(-time.Minute).Unix()}) + `"}`, code: 3005, reason: "connection expired", frames: push(3005, "connection expired")},
		{name: "invalid JSON", frame: `notjson`, code: 3501, reason: "bad request"},
		{name: "JSON array", frame: `[1,2]`, code: 3501, reason: "bad request"},
		{name: "empty frame", frame: ``, code: 3501, reason: "bad request"},
		{name: "null means no credentials", frame: `null`, code: 3501, reason: "bad request", frames: push(3501, "bad request")},
		{name: "frame over the size limit", frame: `{"token":"` + strings.Repeat("x", 70000) + `"}`, code: 1009, reason: ""},
		{name: "stale", silent: true, code: 3502, reason: "stale", frames: push(3502, "stale")},
		{name: "stale despite Pongs", silent: true, pongs: true, code: 3502, reason: "stale", frames: push(3502, "stale")},
		{name: "unknown namespace", frame: `{"token":"` + valid + `","subs":{"nope:x":{}}}`, code: 3501, reason: "bad request", frames: push(3501, "bad request")},
		{name: "binary frame with invalid JSON", msgType: websocket.BinaryMessage, frame: "\x00\x01", code: 3501, reason: "bad request"},
		{name: "deep nesting", frame: `{"data":` + strings.Repeat("[", 600) + strings.Repeat("]", 600) + `,"token":"bad"}`, code: 3500, reason: "invalid token", frames: push(3500, "invalid token")},
		{name: "unbalanced deep nesting", frame: `{"data":` + strings.Repeat("[", 1000), code: 3501, reason: "bad request"},
		{name: "invalid UTF-8 in token", frame: "{\"token\":\"\xff\xfe\"}", code: 3500, reason: "invalid token", frames: push(3500, "invalid token")},
		{name: "token is a number", frame: `{"token":5}`, code: 3501, reason: "bad request"},
		{name: "subs is a list", frame: `{"token":"` + valid + `","subs":["a"]}`, code: 3501, reason: "bad request"},
		{name: "offset is negative", frame: `{"token":"` + valid + `","subs":{"a":{"offset":-1}}}`, code: 3501, reason: "bad request"},
		{name: "huge subs map", frame: `{"token":"` + valid + `","subs":{` + manySubs(1100) + `}}`, code: 3505, reason: "channel limit", frames: push(3505, "channel limit")},
		{name: "no token, no anonymous access", frame: `{"subs":{"a":{}}}`, code: 3501, reason: "bad request", frames: push(3501, "bad request")},
		{name: "nbf in the future", frame: `{"token":"` + sign(jwt.SigningMethodHS256, []byte(testSecret), jwt.MapClaims{"sub": "u", "exp": exp, "nbf": exp - 60}) + `"}`, code: 3005, reason: "connection expired", frames: push(3005, "connection expired")},
		{name: "kid pointing elsewhere", frame: `{"token":"` + signKid(t, "../../etc/passwd", []byte("other"), exp) + `"}`, code: 3500, reason: "invalid token", frames: push(3500, "invalid token")},
		{name: "HS384 with the wrong key", frame: `{"token":"` + sign(jwt.SigningMethodHS384, []byte("nope"), jwt.MapClaims{"sub": "u", "exp": exp}) + `"}`, code: 3500, reason: "invalid token", frames: push(3500, "invalid token")},
		{name: "expire_at passed", frame: `{"token":"` + sign(jwt.SigningMethodHS256, []byte(testSecret), jwt.MapClaims{"sub": "u", "expire_at": time.Now().Add(-time.Minute).Unix()}) + `"}`, code: 3005, reason: "connection expired", frames: push(3005, "connection expired")},
		{name: "info claim not JSON object", frame: `{"token":"` + sign(jwt.SigningMethodHS256, []byte(testSecret), jwt.MapClaims{"sub": "u", "exp": exp, "b64info": "%%%"}) + `"}`, code: 3500, reason: "invalid token", frames: push(3500, "invalid token")},
		{name: "token channel in unknown namespace", frame: `{"token":"` + sign(jwt.SigningMethodHS256, []byte(testSecret), jwt.MapClaims{"sub": "u", "exp": exp, "channels": []string{"nope:x"}}) + `"}`, code: 3004, reason: "internal server error", frames: push(3004, "internal server error")},
	}
	for i, c := range ws {
		t.Run(c.name, func(t *testing.T) {
			conn := ts.dial(nil)
			if !c.silent {
				mt := c.msgType
				if mt == 0 {
					mt = websocket.TextMessage
				}
				if err := conn.WriteMessage(mt, []byte(c.frame)); err != nil {
					t.Fatal(err)
				}
			}
			if c.pongs {
				stop := make(chan struct{})
				var wg sync.WaitGroup
				wg.Add(1)
				go func() {
					defer wg.Done()
					tick := time.NewTicker(100 * time.Millisecond)
					defer tick.Stop()
					for {
						select {
						case <-stop:
							return
						case <-tick.C:
							_ = conn.WriteControl(websocket.PongMessage, nil, time.Now().Add(time.Second))
						}
					}
				}()
				defer wg.Wait()
				defer close(stop)
			}
			frames := expectClose(t, conn, c.code, c.reason)
			if strings.Join(frames, "|") != strings.Join(c.frames, "|") {
				t.Fatalf("frames before close: got %q, want %q", frames, c.frames)
			}
			assertStillServing(t, ts, watcher, i)
		})
	}

	for i, sub := range []string{`"a\u0001b":{}`, `"abc":null`, `"` + strings.Repeat("c", 300) + `":{}`, `"#other":{}`, `"":{}`} {
		t.Run("refused sub "+sub[:min(len(sub), 12)], func(t *testing.T) {
			_, connect := ts.connect(`{"token":"` + valid + `","subs":{` + sub + `}}`)
			if !strings.Contains(connect, `"subs":{"#u":{}}`) {
				t.Fatalf("connect push %s", connect)
			}
			assertStillServing(t, ts, watcher, 300+i)
		})
	}
	t.Run("private channel is refused, connection kept", func(t *testing.T) {
		_, connect := ts.connect(`{"token":"` + valid + `","subs":{"$secret":{},"abc":{}}}`)
		if !strings.Contains(connect, `"subs":{"#u":{}}`) {
			t.Fatalf("connect push %s", connect)
		}
		assertStillServing(t, ts, watcher, 100)
	})
	t.Run("binary connect frame is accepted", func(t *testing.T) {
		conn := ts.dial(nil)
		if err := conn.WriteMessage(websocket.BinaryMessage, []byte(`{"token":"`+valid+`"}`)); err != nil {
			t.Fatal(err)
		}
		if got := readFrame(t, conn); !strings.HasPrefix(got, `{"connect":`) {
			t.Fatalf("got %s", got)
		}
		assertStillServing(t, ts, watcher, 101)
	})

	api := []struct {
		name, method, key, body string
		status                  int
		want                    string
	}{
		{"no key", "publish", "", `{"channel":"a","data":{}}`, 401, ""},
		{"wrong key", "publish", "nope", `{"channel":"a","data":{}}`, 401, ""},
		{"undecodable body", "publish", testAPIKey, `{nope`, 400, "bad request"},
		{"wrong type", "publish", testAPIKey, `{"channel":5,"data":{}}`, 400, "bad request"},
		{"empty channel", "publish", testAPIKey, `{"channel":"","data":{}}`, 200, `{"error":{"code":107,"message":"bad request"}}`},
		{"missing data", "publish", testAPIKey, `{"channel":"a"}`, 200, `{"error":{"code":107,"message":"bad request"}}`},
		{"control character in channel", "publish", testAPIKey, `{"channel":"a\u0001","data":{}}`, 200, `{"error":{"code":107,"message":"bad request"}}`},
		{"broadcast without channels", "broadcast", testAPIKey, `{"data":{}}`, 200, `{"error":{"code":107,"message":"bad request"}}`},
		{"disconnect without user", "disconnect", testAPIKey, `{}`, 200, `{"error":{"code":107,"message":"bad request"}}`},
		{"unknown method", "nosuch", testAPIKey, `{}`, 200, `{"error":{"code":104,"message":"not found"}}`},
		{"body is a list", "publish", testAPIKey, `[1]`, 400, "bad request"},
		{"data not JSON in b64data", "publish", testAPIKey, `{"channel":"a","b64data":"bm90anNvbg=="}`, 200, `{"error":{"code":107,"message":"bad request"}}`},
		{"history on a channel without history", "history", testAPIKey, `{"channel":"a"}`, 200, `{"error":{"code":108,"message":"not available"}}`},
		{"history without channel", "history", testAPIKey, `{}`, 200, `{"error":{"code":107,"message":"bad request"}}`},
		{"unknown namespace", "publish", testAPIKey, `{"channel":"nope:a","data":{}}`, 200, `{"error":{"code":102,"message":"unknown channel"}}`},
		{"disconnect code out of range", "disconnect", testAPIKey, `{"user":"x","disconnect":{"code":1000,"reason":"x"}}`, 200, `{"error":{"code":107,"message":"bad request"}}`},
		{"subscribe without channel", "subscribe", testAPIKey, `{"user":"x"}`, 200, `{"error":{"code":107,"message":"bad request"}}`},
	}
	for i, c := range api {
		t.Run("api "+c.name, func(t *testing.T) {
			status, out := ts.api(c.method, c.key, c.body)
			if status != c.status || out != c.want {
				t.Fatalf("got %d %q, want %d %q", status, out, c.status, c.want)
			}
			assertStillServing(t, ts, watcher, 200+i)
		})
	}
}

// assertStillServing publishes to the watcher's personal channel and waits
// for that publication.
func assertStillServing(t *testing.T, ts *testServer, watcher *websocket.Conn, n int) {
	t.Helper()
	data := `{"n":` + itoa(n) + `}`
	ts.publish("#watcher", data)
	if got, want := readFrame(t, watcher), `{"channel":"#watcher","pub":{"data":`+data+`}}`; got != want {
		t.Fatalf("watcher got %s, want %s", got, want)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func manySubs(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = `"c` + strconv.Itoa(i) + `":{}`
	}
	return strings.Join(parts, ",")
}

func signKid(t *testing.T, kid string, key []byte, exp int64) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "u", "exp": exp})
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestTransportErrorModeFromConfig: api_error_mode (Centrifugo's
// http_api.error_mode) answers every error with an HTTP status, without the
// request header.
func TestTransportErrorModeFromConfig(t *testing.T) {
	t.Parallel()
	ts := startServer(t, `"api_error_mode":"transport"`)
	for _, c := range []struct {
		method, body string
		status       int
		want         string
	}{
		{"publish", `{"channel":"","data":{}}`, 400, `{"code":107,"message":"bad request"}`},
		{"publish", `{"channel":"nope:x","data":{}}`, 404, `{"code":102,"message":"unknown channel"}`},
		{"history", `{"channel":"a"}`, 400, `{"code":108,"message":"not available"}`},
		{"publish", `{"channel":"a","data":{}}`, 200, `{"result":{}}`},
	} {
		if status, out := ts.api(c.method, testAPIKey, c.body); status != c.status || out != c.want {
			t.Errorf("%s %s: %d %s, want %d %s", c.method, c.body, status, out, c.status, c.want)
		}
	}
}
