package server

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestHandshakeWriterIsReused runs handshakes one after another through
// one handshakeWriter, as a parked handshake goroutine does: each answer
// must be its own (status, headers, body), and a hijack must not leave the
// next connection unanswered.
func TestHandshakeWriterIsReused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.RawQuery {
		case "one":
			w.Header().Set("X-One", "1")
			http.Error(w, "one", http.StatusForbidden)
		case "hijack":
			c, rw, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\n\r\n")
			_ = rw.Flush()
			_ = c.Close()
		default:
			http.Error(w, "two", http.StatusServiceUnavailable)
		}
	})
	a := newAcceptor(ln, handler, 0, slog.New(slog.DiscardHandler))
	w := newHandshakeWriter()
	check := func(query string, status int, body string, header bool) {
		t.Helper()
		cc, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Close()
		_ = cc.SetDeadline(time.Now().Add(10 * time.Second))
		c, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		if !a.track(c) {
			t.Fatal("acceptor closed")
		}
		if _, err := io.WriteString(cc, "GET "+wsPath+"?"+query+" HTTP/1.1\r\nHost: h\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		_ = cc.(*net.TCPConn).CloseWrite() // an answer's linger ends at once
		if !a.handshake(c, w) {
			t.Fatal("handshake panicked")
		}
		resp, err := http.ReadResponse(bufio.NewReader(cc), nil)
		if err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		got, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		if resp.StatusCode != status || string(got) != body || (resp.Header.Get("X-One") != "") != header {
			t.Fatalf("%s: got %d %q X-One=%q, want %d %q (X-One set: %v)", query, resp.StatusCode, got, resp.Header.Get("X-One"), status, body, header)
		}
	}
	check("one", http.StatusForbidden, "one\n", true)
	check("two", http.StatusServiceUnavailable, "two\n", false)
	check("hijack", http.StatusSwitchingProtocols, "", false)
	check("two", http.StatusServiceUnavailable, "two\n", false)
	check("one", http.StatusForbidden, "one\n", true)
}

// TestPlainRequestRefusesBodies: an upgrade that carries a body is left to
// net/http, so that a request parsed on the direct path never reads from
// the pooled parse buffer after it is reused.
func TestPlainRequestRefusesBodies(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	a := newAcceptor(ln, http.NotFoundHandler(), 0, slog.New(slog.DiscardHandler))
	for _, tc := range []struct {
		extra string
		plain bool
	}{
		{"", true},
		{"Content-Length: 0\r\n", true},
		{"Content-Length: 5\r\n", false},
		{"Transfer-Encoding: chunked\r\n", false},
	} {
		r, err := a.parseHead([]byte("GET " + wsPath + " HTTP/1.1\r\nHost: h\r\n" + tc.extra + "\r\n"))
		if err != nil {
			t.Fatalf("%q: %v", tc.extra, err)
		}
		if got := plainRequest(r); got != tc.plain {
			t.Errorf("%q: plainRequest %v, want %v", tc.extra, got, tc.plain)
		}
	}
}
