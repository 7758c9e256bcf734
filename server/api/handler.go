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
	"strings"
	"time"

	"github.com/uniws/uniws/core"
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
	h := &Handler{cfg: cfg, exec: exec, log: log}
	h.methods = h.methodTable()
	return h
}

// ServeHTTP serves POST /api and POST /api/<method>.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if !h.authorized(r) {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if h.cfg.Draining != nil && h.cfg.Draining() {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBodySize))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.Timeout)
	defer cancel()
	name := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/api"), "/")
	if name == "" {
		h.serveLegacy(ctx, w, body)
		return
	}
	m, ok := h.methods[name]
	if !ok {
		h.writeReply(w, r, nil, core.ErrNotFound.Err())
		return
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	result, err := m(ctx, body)
	if errors.Is(err, errBadBody) {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	h.writeReply(w, r, result, err)
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

func (h *Handler) writeReply(w http.ResponseWriter, r *http.Request, result any, err error) {
	rep := h.toReply(result, err)
	w.Header().Set("Content-Type", "application/json")
	if rep.Error != nil && strings.EqualFold(r.Header.Get("X-Centrifugo-Error-Mode"), "transport") {
		w.WriteHeader(transportStatus(core.ErrorCode(rep.Error.Code)))
	}
	_ = json.NewEncoder(w).Encode(rep)
}

// transportStatus maps an API error to an HTTP status for the transport
// error mode.
func transportStatus(code core.ErrorCode) int {
	switch code {
	case core.ErrInternal:
		return http.StatusInternalServerError
	case core.ErrUnauthorized:
		return http.StatusUnauthorized
	case core.ErrPermissionDenied:
		return http.StatusForbidden
	case core.ErrNotFound:
		return http.StatusNotFound
	case core.ErrTooManyRequests:
		return http.StatusTooManyRequests
	case core.ErrNotAvailable:
		return http.StatusNotImplemented
	}
	return http.StatusBadRequest
}

// legacyCommand is one line of the legacy /api envelope.
type legacyCommand struct {
	ID     uint64          `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
}

// serveLegacy runs newline-separated commands and joins the replies by "\n".
func (h *Handler) serveLegacy(ctx context.Context, w http.ResponseWriter, body []byte) {
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
			return
		}
		var rep reply
		m, ok := h.methods[cmd.Method]
		switch {
		case !ok:
			rep = reply{Error: core.ErrNotFound.Err()}
		default:
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
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out.Bytes())
}
