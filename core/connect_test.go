package core

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestDecodeConnectRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		frame string
		want  *ConnectRequest // nil: an error is expected
	}{
		{"seed", `{"token":"T","subs":{"abc":{}}}`, &ConnectRequest{Token: "T", Subs: map[string]*SubscribeRequest{"abc": {}}}},
		{"null counts as {}", `null`, &ConnectRequest{}},
		{"null with spaces", " null\n", &ConnectRequest{}},
		{"empty object", `{}`, &ConnectRequest{}},
		{"null sub counts as {}", `{"subs":{"a":null}}`, &ConnectRequest{Subs: map[string]*SubscribeRequest{"a": {}}}},
		{"recovery position", `{"subs":{"hist:r":{"recover":true,"offset":18,"epoch":"trPKmZbP"}}}`,
			&ConnectRequest{Subs: map[string]*SubscribeRequest{"hist:r": {Recover: true, Offset: 18, Epoch: "trPKmZbP"}}}},
		{"every field", `{"token":"T","data":{"a": 1},"name":"app","version":"1.0","headers":{"X-A":"b"}}`,
			&ConnectRequest{Token: "T", Data: json.RawMessage(`{"a": 1}`), Name: "app", Version: "1.0", Headers: map[string]string{"X-A": "b"}}},
		{"unknown fields ignored", `{"token":"T","id":1,"method":7,"params":{"x":[1]}}`, &ConnectRequest{Token: "T"}},
		{"empty frame", ``, nil},
		{"blank frame", " \n\t", nil},
		{"not JSON", `notjson`, nil},
		{"truncated", `{"token":"T"`, nil},
		{"trailing data", `{} {}`, nil},
		{"array", `[]`, nil},
		{"string", `"token"`, nil},
		{"number", `1`, nil},
		{"token of wrong type", `{"token":1}`, nil},
		{"negative offset", `{"subs":{"a":{"offset":-1}}}`, nil},
		{"subs of wrong type", `{"subs":["a"]}`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := DecodeConnectRequest([]byte(tc.frame))
			if tc.want == nil {
				if err == nil {
					t.Fatalf("accepted %q as %+v", tc.frame, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestJSONMarshalOfPushIsSemanticOnly records a trap: encoding/json
// compacts and HTML-escapes what MarshalJSON returns, so json.Marshal of a
// Push loses the payload's whitespace. Wire bytes come from AppendJSON.
func TestJSONMarshalOfPushIsSemanticOnly(t *testing.T) {
	t.Parallel()
	p := &Push{Channel: "c", Pub: &Publication{Data: json.RawMessage(`{"s": "<b>"}`)}}
	wire := string(p.AppendJSON(nil))
	if wire != `{"channel":"c","pub":{"data":{"s": "<b>"}}}` {
		t.Fatalf("wire = %s", wire)
	}
	viaJSON, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if string(viaJSON) != `{"channel":"c","pub":{"data":{"s":"\u003cb\u003e"}}}` {
		t.Errorf("json.Marshal = %s", viaJSON)
	}
	var a, b any
	if json.Unmarshal([]byte(wire), &a) != nil || json.Unmarshal(viaJSON, &b) != nil || !reflect.DeepEqual(a, b) {
		t.Error("json.Marshal output differs in meaning")
	}
}
