package server

import (
	"net/http"
	"net/http/pprof"
	"os"
	rtmetrics "runtime/metrics"
	"strconv"
	"strings"
)

// The node's counts, read by the /metrics gauges (metrics.State) and the
// info API. Each is safe for concurrent use.

// NumClients is the number of connected sessions.
func (n *node) NumClients() int {
	clients, _ := n.counts()
	return clients
}

// NumUsers is the number of distinct connected users.
func (n *node) NumUsers() int {
	_, users := n.counts()
	return users
}

// NumSubscriptions is the number of subscriptions on this node.
func (n *node) NumSubscriptions() int { return n.hub.NumSubscriptions() }

// NumChannels is the number of channels with a subscriber on this node.
func (n *node) NumChannels() int { return n.hub.NumChannels() }

// processRSS is the resident set size of this process in bytes: from
// /proc/self/statm where there is one (Linux), otherwise the memory the Go
// runtime has mapped from the operating system.
func processRSS() int64 {
	if b, err := os.ReadFile("/proc/self/statm"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 2 {
			if pages, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				return pages * int64(os.Getpagesize())
			}
		}
	}
	s := []rtmetrics.Sample{{Name: "/memory/classes/total:bytes"}}
	rtmetrics.Read(s)
	if s[0].Value.Kind() == rtmetrics.KindUint64 {
		return int64(s[0].Value.Uint64())
	}
	return 0
}

// DebugHandler serves the Go profiler (net/http/pprof) under /debug/pprof/.
// It exposes the process's internals: serve it on an internal address
// only, never on the public listener.
func DebugHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
