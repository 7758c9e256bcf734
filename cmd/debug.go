package cmd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/uniws/uniws/server"
)

// defaultDebugAddress is where --debug serves pprof.
const defaultDebugAddress = "127.0.0.1:6060"

// checkDebugAddress refuses addresses that would publish pprof on every
// interface: the profiler must stay on an internal address.
func checkDebugAddress(addr string) (loopback bool, err error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, fmt.Errorf("--debug-address %q: %w", addr, err)
	}
	ip := net.ParseIP(host)
	switch {
	case host == "" || (ip != nil && ip.IsUnspecified()):
		return false, fmt.Errorf("--debug-address %q listens on every interface: give an internal address such as %s", addr, defaultDebugAddress)
	case host == "localhost" || (ip != nil && ip.IsLoopback()):
		return true, nil
	}
	return false, nil
}

// startDebug serves pprof on addr until stop is called. stop shuts the
// listener down and returns once its goroutine has ended.
func startDebug(ctx context.Context, f *factory, addr string, log *slog.Logger) (stop func(), err error) {
	ln, err := f.listen(ctx, addr)
	if err != nil {
		return nil, fmt.Errorf("listen on debug address %s: %w", addr, err)
	}
	srv := &http.Server{Handler: server.DebugHandler(), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("debug listener failed", "error", err.Error())
		}
	}()
	log.Info("pprof on the internal debug address", "address", "http://"+ln.Addr().String()+"/debug/pprof/")
	return func() {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := srv.Shutdown(shutdownCtx); err != nil {
			_ = srv.Close()
		}
		<-done
	}, nil
}
