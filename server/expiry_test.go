package server_test

import (
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/uniws/uniws/core"
	"github.com/uniws/uniws/server"
)

// almostNext is a server clock 1 ms before the second after fixedNow, so a
// token with expire_at fixedNow+1 has 1 ms to live: expiry tests run on the
// injected clock and wait for nothing longer than the close delay.
func almostNext() func() time.Time {
	return func() time.Time { return fixedNow.Add(999 * time.Millisecond) }
}

// expiringToken is a token for user whose connection expires at
// fixedNow+secs (expire_at claim).
func expiringToken(t *testing.T, user string, secs int64) string {
	t.Helper()
	at := fixedNow.Unix() + secs
	tok, err := core.Sign(jwt.SigningMethodHS256, []byte(testSecret), core.TokenOptions{User: user, Now: fixedNow, ExpireAt: &at, Info: []byte(`{"v":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	return `{"token":"` + tok + `"}`
}

func TestExpiryClosesAfterDelay(t *testing.T) {
	t.Parallel()
	ts := startServer(t, `"client_expired_close_delay":"10ms"`, server.WithClock(almostNext()))
	conn, push := ts.connect(expiringToken(t, "u", 1))
	if !strings.Contains(push, `"expires":true,"ttl":1,`) {
		t.Fatalf("connect push %s", push)
	}
	frames := expectClose(t, conn, 3005, "connection expired")
	if frames[len(frames)-1] != `{"disconnect":{"code":3005,"reason":"connection expired"}}` {
		t.Fatalf("frames %q", frames)
	}
}

// TestFarExpiryCountsAsAYear: an expiry past a year from now (a token's exp
// or expire_at, an API refresh) counts as a year, as in Centrifugo. Past 292
// years it wrapped around: a ttl of nonsense and an immediate 3005.
func TestFarExpiryCountsAsAYear(t *testing.T) {
	t.Parallel()
	ts := startServer(t, `"client_expired_close_delay":"10ms"`, server.WithClock(almostNext()))
	sign := func(claims jwt.MapClaims) string {
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(testSecret))
		if err != nil {
			t.Fatal(err)
		}
		return `{"token":"` + tok + `"}`
	}
	const year = `"expires":true,"ttl":31536000`
	for i, claims := range []jwt.MapClaims{
		{"sub": "far0", "exp": 1e11},
		{"sub": "far1", "exp": int64(9999999999999)},
		{"sub": "far2", "expire_at": int64(99999999999)},
		{"sub": "far3", "expire_at": int64(9223372036854775807)},
	} {
		conn, push := ts.connect(sign(claims))
		if !strings.Contains(push, year+",") {
			t.Fatalf("claims %d: connect push %s", i, push)
		}
		user := claims["sub"].(string)
		ts.publish("#"+user, `{"n":1}`)
		if got := readFrame(t, conn); got != `{"channel":"#`+user+`","pub":{"data":{"n":1}}}` {
			t.Fatalf("claims %d: after connect %s", i, got)
		}
		if i == 0 {
			if status, out := ts.api("refresh", testAPIKey, `{"user":"far0","expire_at":99999999999}`); status != 200 || out != `{"result":{}}` {
				t.Fatalf("refresh: %d %s", status, out)
			}
			if got := readFrame(t, conn); got != `{"refresh":{`+year+`}}` {
				t.Fatalf("refresh push %s", got)
			}
			ts.publish("#far0", `{"n":2}`)
			if got := readFrame(t, conn); got != `{"channel":"#far0","pub":{"data":{"n":2}}}` {
				t.Fatalf("after refresh %s", got)
			}
		}
	}
}

// TestAPIRefresh extends, shortens and ends connections through the API.
func TestAPIRefresh(t *testing.T) {
	t.Parallel()
	ts := startServer(t, `"client_expired_close_delay":"10ms","presence":true`, server.WithClock(almostNext()))
	refresh := func(body string) {
		t.Helper()
		if status, out := ts.api("refresh", testAPIKey, body); status != 200 || out != `{"result":{}}` {
			t.Fatalf("refresh %s: %d %s", body, status, out)
		}
	}
	at := func(secs int64) string { return strconv.FormatInt(fixedNow.Unix()+secs, 10) }

	t.Run("extend with info", func(t *testing.T) {
		t.Parallel()
		conn, _ := ts.connect(expiringToken(t, "extend", 3600))
		refresh(`{"user":"extend","expire_at":` + at(7200) + `,"info":{"v": 2}}`)
		if got := readFrame(t, conn); got != `{"refresh":{"expires":true,"ttl":7200}}` {
			t.Fatalf("refresh push %s", got)
		}
		_, out := ts.api("presence", testAPIKey, `{"channel":"#extend"}`)
		if !strings.Contains(out, `"conn_info":{"v":2}`) {
			t.Fatalf("presence after refresh: %s", out)
		}
	})
	t.Run("shorten", func(t *testing.T) {
		t.Parallel()
		conn, _ := ts.connect(expiringToken(t, "shorten", 3600))
		refresh(`{"user":"shorten","expire_at":` + at(1) + `}`)
		frames := expectClose(t, conn, 3005, "connection expired")
		if frames[0] != `{"refresh":{"expires":true,"ttl":1}}` {
			t.Fatalf("frames %q", frames)
		}
	})
	t.Run("never expire", func(t *testing.T) {
		t.Parallel()
		conn, _ := ts.connect(expiringToken(t, "forever", 3600))
		refresh(`{"user":"forever","expire_at":0}`)
		if got := readFrame(t, conn); got != `{"refresh":{}}` {
			t.Fatalf("refresh push %s", got)
		}
	})
	for name, body := range map[string]string{
		"expired":          `{"user":"%s","expired":true}`,
		"expire_at passed": `{"user":"%s","expire_at":` + at(0) + `}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			user := strings.ReplaceAll(name, " ", "_")
			conn, _ := ts.connect(expiringToken(t, user, 3600))
			refresh(strings.Replace(body, "%s", user, 1))
			frames := expectClose(t, conn, 3005, "connection expired")
			if len(frames) != 1 {
				t.Fatalf("frames %q", frames)
			}
		})
	}
	t.Run("bad requests", func(t *testing.T) {
		t.Parallel()
		if status, _ := ts.api("refresh", testAPIKey, `{"user":"u","info":{nope}}`); status != http.StatusBadRequest {
			t.Fatalf("undecodable body: %d", status)
		}
		if _, out := ts.api("refresh", testAPIKey, `{}`); !strings.Contains(out, `"code":107`) {
			t.Fatalf("refresh without target: %s", out)
		}
	})
}

// TestRefreshProxy: at expiry the refresh proxy extends the connection (it
// is asked again at the new expiry), ends it, or closes it as it says.
func TestRefreshProxy(t *testing.T) {
	t.Parallel()
	inTwo := strconv.FormatInt(fixedNow.Unix()+2, 10)
	var extended atomic.Bool
	url, calls := newBackend(t, func(w http.ResponseWriter, r *http.Request, body string) {
		switch {
		case strings.Contains(body, `"user":"extend"`) && !extended.Swap(true):
			writeJSON(w, `{"result":{"expire_at":`+inTwo+`,"info":{"v":2}}}`)
		case strings.Contains(body, `"user":"extend"`), strings.Contains(body, `"user":"end"`):
			writeJSON(w, `{"result":{"expired":true}}`)
		case strings.Contains(body, `"user":"silent"`):
			writeJSON(w, `{}`)
		default:
			writeJSON(w, `{"disconnect":{"code":4000,"reason":"refresh denied"}}`)
		}
	})
	ts := startServer(t, `"proxy_refresh_endpoint":"`+url+`"`, server.WithClock(almostNext()))

	conn, push := ts.connect(expiringToken(t, "extend", 1))
	if strings.Contains(push, `"expires"`) || strings.Contains(push, `"ttl"`) {
		t.Fatalf("connect push with a refresh proxy tells the client its expiry: %s", push)
	}
	call := <-calls
	golden, err := os.ReadFile("../testdata/proxy/refresh_request.json")
	if err != nil {
		t.Fatal(err)
	}
	if call.body != string(golden) {
		t.Errorf("refresh proxy request:\n got %s\nwant %s", call.body, golden)
	}
	// Extended to fixedNow+2: asked again about a second later, then ended.
	<-calls
	expectClose(t, conn, 3005, "connection expired")

	for user, want := range map[string]core.Disconnect{
		"end":    core.CodeExpired.Disconnect(),
		"silent": core.CodeExpired.Disconnect(),
		"denied": {Code: 4000, Reason: "refresh denied"},
	} {
		t.Run(user, func(t *testing.T) {
			t.Parallel()
			conn, _ := ts.connect(expiringToken(t, user, 1))
			expectClose(t, conn, int(want.Code), want.Reason)
		})
	}
}
