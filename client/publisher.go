package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/uniws/uniws/core"
)

// ErrAuthRefused is wrapped by the error of an API call the server refused
// with HTTP 401: a wrong or missing API key.
var ErrAuthRefused = errors.New("auth refused (HTTP 401): check the API key")

// StatusError is an API reply with an HTTP status other than 200 and 401.
type StatusError struct {
	Status int
	Body   string
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("HTTP %d %s", e.Status, http.StatusText(e.Status))
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// maxReply bounds the size of an API reply read into memory.
const maxReply = 64 << 20

// Publisher calls a server's HTTP API (PROTOCOL.md §8): POST
// {Server}/api/{method} with the X-API-Key header.
//
// A Publisher is safe for concurrent use once its fields are set; do not
// change them while calls are in flight.
type Publisher struct {
	// Server is the base URL, e.g. http://localhost:8000. A missing scheme
	// means http.
	Server string
	// APIKey is sent as X-API-Key when not empty.
	APIKey string
	// HTTPClient makes the requests; nil means http.DefaultClient.
	HTTPClient *http.Client
	// UserAgent is sent when not empty.
	UserAgent string
}

// PublishRequest is the publish method's params. Data is sent byte for
// byte as given; it must be valid JSON.
type PublishRequest struct {
	Channel        string            `json:"channel"`
	Data           json.RawMessage   `json:"-"`
	SkipHistory    bool              `json:"skip_history,omitempty"`
	Tags           map[string]string `json:"tags,omitempty"`
	IdempotencyKey string            `json:"idempotency_key,omitempty"`
}

// PublishResult is the publish method's result: the publication's place in
// the channel's stream, set only for channels with history.
type PublishResult struct {
	Offset uint64 `json:"offset,omitempty"`
	Epoch  string `json:"epoch,omitempty"`
}

// Publish publishes one message. A server error reply is returned as a
// wrapped *core.Error, HTTP 401 as a wrapped ErrAuthRefused.
func (p *Publisher) Publish(ctx context.Context, req PublishRequest) (PublishResult, error) {
	var res PublishResult
	if !json.Valid(req.Data) {
		return res, errors.New("publish: data is not valid JSON")
	}
	head, err := json.Marshal(&req)
	if err != nil {
		return res, fmt.Errorf("encode publish: %w", err)
	}
	// Splice the data in by hand: encoding/json would compact it, and the
	// contract passes payloads through byte for byte.
	body := make([]byte, 0, len(head)+len(req.Data)+9)
	body = append(body, head[:len(head)-1]...)
	body = append(body, `,"data":`...)
	body = append(body, req.Data...)
	body = append(body, '}')
	err = p.do(ctx, "publish", body, &res)
	return res, err
}

// Call invokes any API method: params is encoded with encoding/json
// (json.RawMessage and []byte are taken to hold JSON and sent as they are)
// and the reply's result is decoded into result unless it is nil. A server
// error reply is returned as a wrapped *core.Error, HTTP 401 as a wrapped
// ErrAuthRefused, any other non-200 status as a wrapped *StatusError.
func (p *Publisher) Call(ctx context.Context, method string, params, result any) error {
	var body []byte
	switch v := params.(type) {
	case nil:
		body = []byte("{}")
	case []byte:
		body = v
	case json.RawMessage:
		body = v
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("encode %s params: %w", method, err)
		}
		body = b
	}
	return p.do(ctx, method, body, result)
}

func (p *Publisher) do(ctx context.Context, method string, body []byte, result any) error {
	server := strings.TrimRight(p.Server, "/")
	if !strings.Contains(server, "://") {
		server = "http://" + server
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, server+"/api/"+method, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("call %s: %w", method, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if p.APIKey != "" {
		req.Header.Set("X-API-Key", p.APIKey)
	}
	if p.UserAgent != "" {
		req.Header.Set("User-Agent", p.UserAgent)
	}
	hc := p.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("call %s: %w", method, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if err != nil {
		return fmt.Errorf("call %s: read reply: %w", method, err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusUnauthorized:
		return fmt.Errorf("call %s: %w", method, ErrAuthRefused)
	default:
		if e := transportError(data); e != nil {
			return fmt.Errorf("call %s: %w", method, e)
		}
		return fmt.Errorf("call %s: %w", method, &StatusError{Status: resp.StatusCode, Body: strings.TrimSpace(string(data))})
	}
	var reply struct {
		Result json.RawMessage `json:"result"`
		Error  *core.Error     `json:"error"`
	}
	if err := json.Unmarshal(data, &reply); err != nil {
		return fmt.Errorf("call %s: decode reply: %w", method, err)
	}
	if reply.Error != nil {
		return fmt.Errorf("call %s: %w", method, reply.Error)
	}
	if result != nil && len(reply.Result) != 0 && string(reply.Result) != "null" {
		if err := json.Unmarshal(reply.Result, result); err != nil {
			return fmt.Errorf("call %s: decode result: %w", method, err)
		}
	}
	return nil
}

// transportError reads the error of a server in the transport error mode
// (Centrifugo's http_api.error_mode): an HTTP status with the error object
// alone as the body, its code one of the API's (100-199). Nil when the
// body is not one, e.g. a proxy's own JSON error.
func transportError(body []byte) *core.Error {
	var e core.Error
	if json.Unmarshal(body, &e) != nil || e.Code < 100 || e.Code > 199 {
		return nil
	}
	return &e
}
