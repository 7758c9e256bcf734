// Package api serves the Centrifugo-compatible HTTP server API: POST
// /api/<method> and the legacy newline-separated POST /api. The HTTP side
// (auth, decoding, statuses) lives here; the work is done by an Executor.
package api

import (
	"bufio"
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/uniws/uniws/core"
	"github.com/uniws/uniws/server/metrics"
)

// Config holds the API settings.
type Config struct {
	Key      string
	Insecure bool
	// MaxBodySize bounds a request body (HTTP 413 past it).
	MaxBodySize int64
	// Timeout bounds one request's work.
	Timeout time.Duration
	// BroadcastMaxChannels caps the channels of one broadcast (0: none).
	BroadcastMaxChannels int
	// Draining reports that the server is shutting down (HTTP 503).
	Draining func() bool
	// TransportErrors sends every error with an HTTP status, as the
	// X-Centrifugo-Error-Mode: transport header does for one request
	// (Centrifugo's http_api.error_mode: transport).
	TransportErrors bool
	// Metrics counts calls by method and status and observes their
	// latency (nil: counted on collectors that no registry exposes).
	Metrics *metrics.Collectors
}

// Handler is the HTTP API handler. It is safe for concurrent use.
type Handler struct {
	cfg     Config
	exec    Executor
	log     *slog.Logger
	methods map[string]method
}

type method func(ctx context.Context, params json.RawMessage) (any, error)

// errBadBody marks params that do not decode (HTTP 400 on /api/<method>).
var errBadBody = errors.New("undecodable body")

// NewHandler returns the API handler.
func NewHandler(cfg Config, exec Executor, log *slog.Logger) *Handler {
	if cfg.MaxBodySize <= 0 {
		cfg.MaxBodySize = 10 << 20
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New(nil)
	}
	h := &Handler{cfg: cfg, exec: exec, log: log}
	h.methods = h.methodTable()
	return h
}

// ServeHTTP serves POST /api and POST /api/<method>, and counts the call.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if method, status := h.serve(w, r); method != "" {
		h.cfg.Metrics.API(method, status, time.Since(start))
	}
}

// serve answers one request and returns the method and status to count it
// under; legacy commands are counted one by one, so a legacy request that
// ran returns "".
func (h *Handler) serve(w http.ResponseWriter, r *http.Request) (method, status string) {
	name := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/api"), "/")
	method = "legacy"
	if name != "" {
		method = "unknown"
		if _, ok := h.methods[name]; ok {
			method = name
		}
	}
	refuse := func(code int, msg string) (string, string) {
		if msg == "" {
			w.WriteHeader(code)
		} else {
			http.Error(w, msg, code)
		}
		return method, "http_" + strconv.Itoa(code)
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return refuse(http.StatusMethodNotAllowed, "method not allowed")
	}
	if !h.authorized(r) {
		return refuse(http.StatusUnauthorized, "")
	}
	if h.cfg.Draining != nil && h.cfg.Draining() {
		return refuse(http.StatusServiceUnavailable, "shutting down")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBodySize))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return refuse(http.StatusRequestEntityTooLarge, "request body too large")
		}
		return refuse(http.StatusBadRequest, "bad request")
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.Timeout)
	defer cancel()
	if name == "" {
		if h.serveLegacy(ctx, w, body) {
			return "", ""
		}
		return method, "http_400"
	}
	m, ok := h.methods[name]
	if !ok {
		return method, h.writeReply(w, r, nil, core.ErrNotFound.Err())
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	result, err := m(ctx, body)
	if errors.Is(err, errBadBody) {
		return refuse(http.StatusBadRequest, "bad request")
	}
	return method, h.writeReply(w, r, result, err)
}

func (h *Handler) authorized(r *http.Request) bool {
	if h.cfg.Key == "" {
		return h.cfg.Insecure
	}
	key := r.Header.Get("X-API-Key")
	if key == "" {
		if auth := r.Header.Get("Authorization"); len(auth) > 7 && strings.EqualFold(auth[:7], "apikey ") {
			key = strings.TrimSpace(auth[7:])
		}
	}
	if key == "" {
		return h.cfg.Insecure
	}
	return subtle.ConstantTimeCompare([]byte(key), []byte(h.cfg.Key)) == 1
}

// reply is {"result":...} or {"error":...}.
type reply struct {
	ID     uint64      `json:"id,omitempty"`
	Error  *core.Error `json:"error,omitempty"`
	Result any         `json:"result,omitempty"`
}

func (h *Handler) toReply(result any, err error) reply {
	if err == nil {
		if result == nil {
			result = struct{}{}
		}
		return reply{Result: result}
	}
	var apiErr *core.Error
	if errors.As(err, &apiErr) {
		return reply{Error: apiErr}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		h.log.Warn("api call timed out", "error", err.Error())
	} else {
		h.log.Error("api call failed", "error", err.Error())
	}
	return reply{Error: core.ErrInternal.Err()}
}

// writeReply writes a reply and returns its status for the metrics: "ok"
// or the API error code. In the transport error mode an error comes with
// an HTTP status (PROTOCOL.md §8), Centrifugo's for its code.
func (h *Handler) writeReply(w http.ResponseWriter, r *http.Request, result any, err error) string {
	rep := h.toReply(result, err)
	w.Header().Set("Content-Type", "application/json")
	if rep.Error != nil && (h.cfg.TransportErrors || strings.EqualFold(r.Header.Get("X-Centrifugo-Error-Mode"), "transport")) {
		// As Centrifugo does: the status, and the error object alone.
		w.WriteHeader(transportStatus(core.ErrorCode(rep.Error.Code)))
		_ = json.NewEncoder(w).Encode(rep.Error)
		return replyStatus(rep)
	}
	_ = json.NewEncoder(w).Encode(rep)
	return replyStatus(rep)
}

func replyStatus(rep reply) string {
	if rep.Error != nil {
		return strconv.Itoa(int(rep.Error.Code))
	}
	return "ok"
}

// transportStatus maps an API error to an HTTP status for the transport
// error mode, as Centrifugo v6 does.
func transportStatus(code core.ErrorCode) int {
	switch code {
	case core.ErrUnknownChannel, core.ErrNotFound:
		return http.StatusNotFound
	case core.ErrBadRequest, core.ErrNotAvailable:
		return http.StatusBadRequest
	case core.ErrUnrecoverablePos:
		return http.StatusRequestedRangeNotSatisfiable
	}
	return http.StatusInternalServerError
}

// legacyCommand is one line of the legacy /api envelope.
type legacyCommand struct {
	ID     uint64          `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
}

// serveLegacy runs newline-separated commands and joins the replies by
// "\n", counting each command. It reports false when the body was refused
// (HTTP 400).
func (h *Handler) serveLegacy(ctx context.Context, w http.ResponseWriter, body []byte) bool {
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64<<10), int(h.cfg.MaxBodySize))
	n := 0
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var cmd legacyCommand
		if err := json.Unmarshal(line, &cmd); err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return false
		}
		var rep reply
		start := time.Now()
		label := "unknown"
		m, ok := h.methods[cmd.Method]
		switch {
		case !ok:
			rep = reply{Error: core.ErrNotFound.Err()}
		default:
			label = cmd.Method
			params := cmd.Params
			if len(params) == 0 || string(params) == "null" {
				params = []byte("{}")
			}
			result, err := m(ctx, params)
			if errors.Is(err, errBadBody) {
				err = core.ErrBadRequest.Err()
			}
			rep = h.toReply(result, err)
		}
		h.cfg.Metrics.API(label, replyStatus(rep), time.Since(start))
		rep.ID = cmd.ID
		if n > 0 {
			out.WriteByte('\n')
		}
		n++
		b, err := json.Marshal(rep)
		if err != nil {
			b, _ = json.Marshal(reply{ID: cmd.ID, Error: core.ErrInternal.Err()})
		}
		out.Write(b)
	}
	if err := sc.Err(); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return false
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out.Bytes())
	return true
}
