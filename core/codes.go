package core

import "strconv"

// Code is a WebSocket close code used in disconnect pushes (PROTOCOL.md §4).
type Code uint32

// Disconnect codes.
const (
	CodeMessageTooBig         Code = 1009
	CodeConnectionClosed      Code = 3000
	CodeShutdown              Code = 3001
	CodeInternal              Code = 3004
	CodeExpired               Code = 3005
	CodeSlow                  Code = 3008
	CodeWriteError            Code = 3009
	CodeInsufficientState     Code = 3010
	CodeForceReconnect        Code = 3011
	CodeInvalidToken          Code = 3500
	CodeBadRequest            Code = 3501
	CodeStale                 Code = 3502
	CodeForceDisconnect       Code = 3503
	CodeConnectionLimit       Code = 3504
	CodeChannelLimit          Code = 3505
	CodeInappropriateProtocol Code = 3506
	CodePermissionDenied      Code = 3507
)

// Reason is the code's standard reason text, as sent on the wire.
func (c Code) Reason() string {
	switch c {
	case CodeMessageTooBig:
		return ""
	case CodeConnectionClosed:
		return "connection closed"
	case CodeShutdown:
		return "shutdown"
	case CodeInternal:
		return "internal server error"
	case CodeExpired:
		return "connection expired"
	case CodeSlow:
		return "slow"
	case CodeWriteError:
		return "write error"
	case CodeInsufficientState:
		return "insufficient state"
	case CodeForceReconnect:
		return "force reconnect"
	case CodeInvalidToken:
		return "invalid token"
	case CodeBadRequest:
		return "bad request"
	case CodeStale:
		return "stale"
	case CodeForceDisconnect:
		return "force disconnect"
	case CodeConnectionLimit:
		return "connection limit"
	case CodeChannelLimit:
		return "channel limit"
	case CodeInappropriateProtocol:
		return "inappropriate protocol"
	case CodePermissionDenied:
		return "permission denied"
	}
	return ""
}

// Reconnect reports whether a client should reconnect after this code:
// 3000-3499, 4000-4499 and >= 5000 mean yes; 3500-3999 and 4500-4999 mean no.
// Codes below 3000 (WebSocket's own) mean yes except 1009 and 1008.
func (c Code) Reconnect() bool {
	switch {
	case c == CodeMessageTooBig || c == 1008 || c == 1002 || c == 1003:
		return false
	case c < 3000:
		return true
	case c < 3500:
		return true
	case c < 4000:
		return false
	case c < 4500:
		return true
	case c < 5000:
		return false
	}
	return true
}

// Explain says in words what a disconnect code means to the person holding
// the client, with the fix where there is one. It does not say what the
// client does next (watch --reconnect=false stops even after 3001).
func (c Code) Explain() string {
	switch c {
	case CodeMessageTooBig:
		return "connect request too large: the server's uni_websocket_message_size_limit is smaller"
	case CodeConnectionClosed:
		return "connection closed: the peer went away or a pong was missed"
	case CodeShutdown:
		return "server shutting down: a code that allows reconnecting"
	case CodeInternal:
		return "internal server error: see the server log (Redis unreachable, unknown namespace in token channels, or proxy failure)"
	case CodeExpired:
		return "connection expired: a fresh token is needed"
	case CodeSlow:
		return "slow: the client did not read fast enough and its queue overflowed"
	case CodeWriteError:
		return "write error: the server could not write to the socket in time"
	case CodeInsufficientState:
		return "insufficient state: the server saw a gap in a positioned channel; a code that allows reconnecting with recovery"
	case CodeForceReconnect:
		return "force reconnect: the server asked the client to reconnect"
	case CodeInvalidToken:
		return "invalid token: check the secret the token was signed with, its algorithm and claims"
	case CodeBadRequest:
		return "bad request: no credentials, invalid connect JSON, or a channel in an unknown namespace"
	case CodeStale:
		return "stale: no connect request was sent in time"
	case CodeForceDisconnect:
		return "force disconnect: the server's API disconnected this client"
	case CodeConnectionLimit:
		return "connection limit: too many connections for this user"
	case CodeChannelLimit:
		return "channel limit: too many subscriptions for one connection"
	case CodeInappropriateProtocol:
		return "inappropriate protocol: the payload was not valid JSON"
	case CodePermissionDenied:
		return "permission denied: the server refused this client"
	}
	if c.Reconnect() {
		return "code " + strconv.FormatUint(uint64(c), 10) + ": a code that allows reconnecting"
	}
	return "code " + strconv.FormatUint(uint64(c), 10) + ": the server asked not to reconnect"
}

// Disconnect returns the code with its standard reason.
func (c Code) Disconnect() Disconnect { return Disconnect{Code: uint32(c), Reason: c.Reason()} }

// Reconnect reports whether the client should reconnect after d.
func (d Disconnect) Reconnect() bool { return Code(d.Code).Reconnect() }

// Error lets a Disconnect travel as an error through connect processing.
func (d Disconnect) Error() string {
	return "disconnect " + strconv.FormatUint(uint64(d.Code), 10) + ": " + d.Reason
}

// ErrorCode is a server API error code (PROTOCOL.md §8).
type ErrorCode uint32

// API error codes.
const (
	ErrInternal          ErrorCode = 100
	ErrUnauthorized      ErrorCode = 101
	ErrUnknownChannel    ErrorCode = 102
	ErrPermissionDenied  ErrorCode = 103
	ErrNotFound          ErrorCode = 104
	ErrAlreadySubscribed ErrorCode = 105
	ErrLimitExceeded     ErrorCode = 106
	ErrBadRequest        ErrorCode = 107
	ErrNotAvailable      ErrorCode = 108
	ErrTokenExpiredCode  ErrorCode = 109
	ErrExpired           ErrorCode = 110
	ErrTooManyRequests   ErrorCode = 111
	ErrUnrecoverablePos  ErrorCode = 112
)

// Message is the code's standard message.
func (e ErrorCode) Message() string {
	switch e {
	case ErrInternal:
		return "internal server error"
	case ErrUnauthorized:
		return "unauthorized"
	case ErrUnknownChannel:
		return "unknown channel"
	case ErrPermissionDenied:
		return "permission denied"
	case ErrNotFound:
		return "not found"
	case ErrAlreadySubscribed:
		return "already subscribed"
	case ErrLimitExceeded:
		return "limit exceeded"
	case ErrBadRequest:
		return "bad request"
	case ErrNotAvailable:
		return "not available"
	case ErrTokenExpiredCode:
		return "token expired"
	case ErrExpired:
		return "expired"
	case ErrTooManyRequests:
		return "too many requests"
	case ErrUnrecoverablePos:
		return "unrecoverable position"
	}
	return "error " + strconv.FormatUint(uint64(e), 10)
}

// Temporary reports whether retrying the same call may succeed.
func (e ErrorCode) Temporary() bool {
	return e == ErrInternal || e == ErrTooManyRequests
}

// Err returns the code as an *Error with its standard message.
func (e ErrorCode) Err() *Error { return &Error{Code: uint32(e), Message: e.Message()} }

// Error is an API error reply: {"code":107,"message":"bad request"}.
type Error struct {
	Code    uint32 `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	return "api error " + strconv.FormatUint(uint64(e.Code), 10) + ": " + e.Message
}
