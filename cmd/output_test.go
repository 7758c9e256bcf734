//go:build linux

package cmd

import (
	"bufio"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/uniws/uniws/core"
)

// pipeOutput makes a command's stdout the write end of a pipe, as System
// does for a non-terminal stdout, and returns the read end.
func pipeOutput(t *testing.T, e *testEnv) *os.File {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	e.setup = func(f *factory) {
		f.ios.Out = outputFile{w}
		f.ios.outFile = w
	}
	return r
}

// TestWatchEndsWhenItsReaderGoes: `uniws watch | head -1` ends with 0 once
// head has gone, also when nothing more arrives to be written (it waited
// for the next publication, or hung, before).
func TestWatchEndsWhenItsReaderGoes(t *testing.T) {
	t.Parallel()
	// Each client gets its connect push on its first connection only:
	// after a reconnect nothing more is written, so only noticing the
	// reader's absence can end the watch.
	var mu sync.Mutex
	seen := map[string]bool{}
	url := newWSServer(t, func(t *testing.T, n int, ws *websocket.Conn, req *core.ConnectRequest) {
		mu.Lock()
		first := !seen[req.Token]
		seen[req.Token] = true
		mu.Unlock()
		if first {
			send(t, ws, connect1)
		}
		drain(ws)
	})
	for _, idle := range []bool{true, false} {
		e := newTestEnv(t)
		r := pipeOutput(t, e)
		if !idle {
			r.Close() // gone before the first line: the write tells
		}
		// Without noticing, watch would end by --timeout with exit 3.
		tok := "idle"
		if !idle {
			tok = "writing"
		}
		run := e.start(t.Context(), "", "watch", "--server", url, "--token", tok, "--count", "5", "--timeout", "60s")
		if idle {
			line, err := bufio.NewReader(r).ReadString('\n')
			if err != nil || line != connect1+"\n" {
				t.Fatalf("first line %q, %v", line, err)
			}
			r.Close() // gone while nothing is being written
		}
		run.wait(t).expect(t, ExitOK)
	}
}

// TestPublishPublishesAllWhenItsReaderGoes: the results' reader going away
// stops the printing, not the publishing.
func TestPublishPublishesAllWhenItsReaderGoes(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	e := newTestEnv(t)
	pipeOutput(t, e).Close()
	r := e.runIn("{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n", "publish", "--server", api.URL, "--api-key", "k", "news")
	r.expect(t, ExitOK)
	if got := api.got(); len(got) != 3 {
		t.Errorf("published %q, want 3 lines", got)
	}
}

// TestOtherCommandsExit141WhenTheirReaderGoes: as SIGPIPE would have made
// them, silently.
func TestOtherCommandsExit141WhenTheirReaderGoes(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	pipeOutput(t, e).Close()
	r := e.run("gentoken", "--key", "s", "-u", "u", "-q")
	r.expect(t, ExitOutputClosed)
	if s := strings.TrimSpace(r.errOut.String()); s != "" {
		t.Errorf("stderr %q", s)
	}
}

// TestWatchOnASocketFailsWhenItsReaderGoes: a socket's reader going away
// (a log collector that restarted) is no choice to stop: 141, so that a
// supervisor restarts the watch.
func TestWatchOnASocketFailsWhenItsReaderGoes(t *testing.T) {
	t.Parallel()
	url := newWSServer(t, func(t *testing.T, n int, ws *websocket.Conn, req *core.ConnectRequest) {
		if n == 1 {
			send(t, ws, connect1)
		}
		drain(ws)
	})
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	out, peer := os.NewFile(uintptr(fds[0]), "stdout"), os.NewFile(uintptr(fds[1]), "reader")
	t.Cleanup(func() { out.Close(); peer.Close() })
	e := newTestEnv(t)
	e.setup = func(f *factory) {
		f.ios.Out = outputFile{out}
		f.ios.outFile = out
	}
	run := e.start(t.Context(), "", "watch", "--server", url, "--token", "tok", "--count", "5", "--timeout", "60s")
	line, err := bufio.NewReader(peer).ReadString('\n')
	if err != nil || line != connect1+"\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	peer.Close()
	run.wait(t).expect(t, ExitOutputClosed)
}
