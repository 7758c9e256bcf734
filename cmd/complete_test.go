package cmd

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/uniws/uniws/core"
)

// subscribeClient connects a client whose token subscribes it to channels,
// so that the server lists them.
func subscribeClient(t *testing.T, url, secret string, channels ...string) {
	t.Helper()
	tok, err := core.SignHMAC(secret, core.TokenOptions{User: "c", Channels: channels})
	if err != nil {
		t.Fatal(err)
	}
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(url, "http")+"/connection/uni_websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	req, _ := json.Marshal(map[string]string{"token": tok})
	if err := conn.WriteMessage(websocket.TextMessage, req); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, data, err := conn.ReadMessage(); err != nil || !strings.Contains(string(data), `"connect"`) {
		t.Fatalf("connect: %s %v", data, err)
	}
}

func TestChannelCompletion(t *testing.T) {
	t.Parallel()
	url, cfg := startUniws(t, doctorServerConfig())
	subscribeClient(t, url, "doctor-secret", "news", "notes", "chat", "#ann")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"publish, all channels", []string{"publish", "--server", url, "--api-key", "doctor-key", ""}, "#ann\nchat\nnews\nnotes\n:4\n"},
		{"publish, by prefix", []string{"publish", "--server", url, "--api-key", "doctor-key", "n"}, "news\nnotes\n:4\n"},
		{"publish, key and port from the config", []string{"publish", "-c", cfg, "--server", url, "no"}, "notes\n:4\n"},
		{"publish, second argument", []string{"publish", "--server", url, "--api-key", "doctor-key", "news", ""}, ":4\n"},
		{"watch --sub, ws URL", []string{"watch", "-c", cfg, "--server", "ws" + strings.TrimPrefix(url, "http") + "/connection/uni_websocket", "--sub", "c"}, "chat\n:4\n"},
		{"wrong key: silent", []string{"publish", "--server", url, "--api-key", "wrong", ""}, ":4\n"},
		{"no server: silent", []string{"publish", "--server", "http://127.0.0.1:1", "--api-key", "k", ""}, ":4\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t)
			r := e.run(append([]string{"__complete"}, tc.args...)...)
			r.expect(t, ExitOK)
			if got := r.out.String(); got != tc.want {
				t.Errorf("completions %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCompletionScripts(t *testing.T) {
	t.Parallel()
	for shell, marker := range map[string]string{
		"bash": "bash completion V2 for uniws", "zsh": "#compdef uniws",
		"fish": "fish completion for uniws", "powershell": "powershell completion for uniws",
	} {
		t.Run(shell, func(t *testing.T) {
			t.Parallel()
			r := newTestEnv(t).run("completion", shell)
			r.expect(t, ExitOK)
			if !strings.Contains(r.out.String(), marker) {
				t.Errorf("%s script lacks %q:\n%.200s", shell, marker, r.out)
			}
		})
	}
	newTestEnv(t).run("completion", "tcsh").expect(t, ExitUsage)
}
