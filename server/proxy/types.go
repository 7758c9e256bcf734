package proxy

import (
	"encoding/json"

	"github.com/uniws/uniws/core"
)

// ConnectRequest is what the connect proxy receives (PROTOCOL.md §9).
type ConnectRequest struct {
	Client    string
	Transport string
	Protocol  string
	Encoding  string
	// Data is the client's connect data, sent byte for byte.
	Data    json.RawMessage
	Name    string
	Version string
	// Channels are the channels the client asked for.
	Channels []string
}

// encode writes the request in the wire order client, transport, protocol,
// encoding, data, name, version, channels; empty optional fields are left
// out and data is embedded as the client sent it.
func (r *ConnectRequest) encode() ([]byte, error) {
	b := []byte(`{"client":`)
	b = appendString(b, r.Client)
	b = append(b, `,"transport":`...)
	b = appendString(b, r.Transport)
	b = append(b, `,"protocol":`...)
	b = appendString(b, r.Protocol)
	b = append(b, `,"encoding":`...)
	b = appendString(b, r.Encoding)
	if len(r.Data) != 0 {
		if !json.Valid(r.Data) {
			return nil, errNotJSON
		}
		b = append(b, `,"data":`...)
		b = append(b, r.Data...)
	}
	if r.Name != "" {
		b = append(b, `,"name":`...)
		b = appendString(b, r.Name)
	}
	if r.Version != "" {
		b = append(b, `,"version":`...)
		b = appendString(b, r.Version)
	}
	if len(r.Channels) != 0 {
		ch, err := json.Marshal(r.Channels)
		if err != nil {
			return nil, err
		}
		b = append(b, `,"channels":`...)
		b = append(b, ch...)
	}
	return append(b, '}'), nil
}

func appendString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always marshals
	return append(b, q...)
}

// ConnectReply is the backend's answer: exactly one of its fields is
// expected to be set.
type ConnectReply struct {
	Result     *ConnectResult   `json:"result,omitempty"`
	Error      *core.Error      `json:"error,omitempty"`
	Disconnect *core.Disconnect `json:"disconnect,omitempty"`
}

// ConnectResult is what the backend grants the connection. Info and Data
// may come base64-encoded as b64info and b64data instead.
type ConnectResult struct {
	User     string                          `json:"user"`
	ExpireAt int64                           `json:"expire_at,omitempty"`
	Info     json.RawMessage                 `json:"info,omitempty"`
	B64Info  string                          `json:"b64info,omitempty"`
	Data     json.RawMessage                 `json:"data,omitempty"`
	B64Data  string                          `json:"b64data,omitempty"`
	Channels []string                        `json:"channels,omitempty"`
	Subs     map[string]core.SubscribeClaims `json:"subs,omitempty"`
	Meta     json.RawMessage                 `json:"meta,omitempty"`
}

// RefreshRequest is what the refresh proxy receives.
type RefreshRequest struct {
	Client    string `json:"client"`
	Transport string `json:"transport"`
	Protocol  string `json:"protocol"`
	Encoding  string `json:"encoding"`
	User      string `json:"user"`
}

// RefreshReply is the backend's answer to a refresh.
type RefreshReply struct {
	Result     *RefreshResult   `json:"result,omitempty"`
	Error      *core.Error      `json:"error,omitempty"`
	Disconnect *core.Disconnect `json:"disconnect,omitempty"`
}

// RefreshResult extends the connection to ExpireAt (with new Info when
// given), or ends it when Expired is set.
type RefreshResult struct {
	Expired  bool            `json:"expired,omitempty"`
	ExpireAt int64           `json:"expire_at,omitempty"`
	Info     json.RawMessage `json:"info,omitempty"`
	B64Info  string          `json:"b64info,omitempty"`
}
