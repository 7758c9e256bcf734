package server

import (
	"net/http"
	"net/http/pprof"
)

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
