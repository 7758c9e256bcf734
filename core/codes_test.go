package core

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// TestDisconnectCodes is PROTOCOL.md §4's table.
func TestDisconnectCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code      Code
		value     uint32
		reason    string
		reconnect bool
	}{
		{CodeMessageTooBig, 1009, "", false},
		{CodeConnectionClosed, 3000, "connection closed", true},
		{CodeShutdown, 3001, "shutdown", true},
		{CodeInternal, 3004, "internal server error", true},
		{CodeExpired, 3005, "connection expired", true},
		{CodeSlow, 3008, "slow", true},
		{CodeWriteError, 3009, "write error", true},
		{CodeInsufficientState, 3010, "insufficient state", true},
		{CodeForceReconnect, 3011, "force reconnect", true},
		{CodeInvalidToken, 3500, "invalid token", false},
		{CodeBadRequest, 3501, "bad request", false},
		{CodeStale, 3502, "stale", false},
		{CodeForceDisconnect, 3503, "force disconnect", false},
		{CodeConnectionLimit, 3504, "connection limit", false},
		{CodeChannelLimit, 3505, "channel limit", false},
		{CodeInappropriateProtocol, 3506, "inappropriate protocol", false},
		{CodePermissionDenied, 3507, "permission denied", false},
	}
	for _, tc := range tests {
		t.Run(tc.reason, func(t *testing.T) {
			t.Parallel()
			if uint32(tc.code) != tc.value {
				t.Errorf("code = %d, want %d", tc.code, tc.value)
			}
			if got := tc.code.Reason(); got != tc.reason {
				t.Errorf("Reason() = %q, want %q", got, tc.reason)
			}
			if got := tc.code.Reconnect(); got != tc.reconnect {
				t.Errorf("Reconnect() = %v, want %v", got, tc.reconnect)
			}
			d := tc.code.Disconnect()
			if d.Code != tc.value || d.Reason != tc.reason {
				t.Errorf("Disconnect() = %+v", d)
			}
			if d.Reconnect() != tc.reconnect {
				t.Errorf("Disconnect().Reconnect() = %v", d.Reconnect())
			}
			if got, want := d.Error(), "disconnect "+jsonNumber(tc.value)+": "+tc.reason; got != want {
				t.Errorf("Error() = %q, want %q", got, want)
			}
			if tc.code.Explain() == "" {
				t.Error("Explain() is empty")
			}
			if tc.code != CodeMessageTooBig {
				frame := (&Push{Disconnect: &d}).AppendJSON(nil)
				want := `{"disconnect":{"code":` + jsonNumber(tc.value) + `,"reason":"` + tc.reason + `"}}`
				if string(frame) != want {
					t.Errorf("push = %s, want %s", frame, want)
				}
			}
		})
	}
}

func jsonNumber(v uint32) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestReconnectRanges checks the rule for codes outside the table:
// 3000-3499, 4000-4499 and >= 5000 reconnect; 3500-3999 and 4500-4999 do not.
func TestReconnectRanges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code Code
		want bool
	}{
		{1000, true}, {1001, true}, {1002, false}, {1003, false}, {1008, false}, {1009, false}, {1011, true},
		{3000, true}, {3002, true}, {3499, true},
		{3500, false}, {3508, false}, {3999, false},
		{4000, true}, {4499, true},
		{4500, false}, {4999, false},
		{5000, true}, {65535, true},
	}
	for _, tc := range tests {
		if got := tc.code.Reconnect(); got != tc.want {
			t.Errorf("Code(%d).Reconnect() = %v, want %v", tc.code, got, tc.want)
		}
		if got := (Disconnect{Code: uint32(tc.code)}).Reconnect(); got != tc.want {
			t.Errorf("Disconnect{%d}.Reconnect() = %v, want %v", tc.code, got, tc.want)
		}
	}
	// Unknown codes still explain themselves, with the reconnect rule.
	// Explanations state the code's rule, not what the client does: a
	// watch with --reconnect=false stops after 3001 all the same.
	for _, c := range []Code{CodeShutdown, CodeInsufficientState, 4000} {
		if got := c.Explain(); !strings.Contains(got, "allows reconnecting") {
			t.Errorf("Explain(%d) = %q, want the rule, not an action", c, got)
		}
	}
	if got := Code(4000).Explain(); !strings.Contains(got, "4000") || !strings.Contains(got, "reconnecting") {
		t.Errorf("Explain(4000) = %q", got)
	}
	if got := Code(4500).Explain(); !strings.Contains(got, "4500") || !strings.Contains(got, "not to reconnect") {
		t.Errorf("Explain(4500) = %q", got)
	}
	if got := Code(4000).Reason(); got != "" {
		t.Errorf("Reason(4000) = %q, want empty", got)
	}
}

// TestAPIErrorCodes is PROTOCOL.md §8's list, with the replies captured
// from Centrifugo v6.9.1.
func TestAPIErrorCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code      ErrorCode
		value     uint32
		message   string
		temporary bool
	}{
		{ErrInternal, 100, "internal server error", true},
		{ErrUnauthorized, 101, "unauthorized", false},
		{ErrUnknownChannel, 102, "unknown channel", false},
		{ErrPermissionDenied, 103, "permission denied", false},
		{ErrNotFound, 104, "not found", false},
		{ErrAlreadySubscribed, 105, "already subscribed", false},
		{ErrLimitExceeded, 106, "limit exceeded", false},
		{ErrBadRequest, 107, "bad request", false},
		{ErrNotAvailable, 108, "not available", false},
		{ErrTokenExpiredCode, 109, "token expired", false},
		{ErrExpired, 110, "expired", false},
		{ErrTooManyRequests, 111, "too many requests", true},
		{ErrUnrecoverablePos, 112, "unrecoverable position", false},
	}
	for _, tc := range tests {
		t.Run(tc.message, func(t *testing.T) {
			t.Parallel()
			if uint32(tc.code) != tc.value {
				t.Errorf("code = %d, want %d", tc.code, tc.value)
			}
			if got := tc.code.Message(); got != tc.message {
				t.Errorf("Message() = %q, want %q", got, tc.message)
			}
			if got := tc.code.Temporary(); got != tc.temporary {
				t.Errorf("Temporary() = %v, want %v", got, tc.temporary)
			}
			e := tc.code.Err()
			if e.Code != tc.value || e.Message != tc.message {
				t.Errorf("Err() = %+v", e)
			}
			if got, want := e.Error(), "api error "+jsonNumber(tc.value)+": "+tc.message; got != want {
				t.Errorf("Error() = %q, want %q", got, want)
			}
			var err error = e
			var target *Error
			if !errors.As(err, &target) || target.Code != tc.value {
				t.Errorf("errors.As lost the code")
			}
		})
	}
	if got := ErrorCode(999).Message(); got != "error 999" {
		t.Errorf("unknown code message = %q", got)
	}
}

func TestAPIErrorReplyMatchesCentrifugo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code ErrorCode
		want string
	}{
		{ErrBadRequest, `{"error":{"code":107,"message":"bad request"}}`},
		{ErrNotAvailable, `{"error":{"code":108,"message":"not available"}}`},
	}
	for _, tc := range tests {
		got, err := json.Marshal(struct {
			Error *Error `json:"error"`
		}{tc.code.Err()})
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tc.want {
			t.Errorf("got %s, want %s", got, tc.want)
		}
		var back struct {
			Error *Error `json:"error"`
		}
		if err := json.Unmarshal([]byte(tc.want), &back); err != nil || *back.Error != *tc.code.Err() {
			t.Errorf("decode %s: %+v %v", tc.want, back.Error, err)
		}
	}
}
