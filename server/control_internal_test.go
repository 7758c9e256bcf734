package server

import (
	"encoding/json"
	"testing"
)

// TestControlKeepsRawJSON: raw JSON in control messages survives the trip
// byte for byte, and the compacted raw form older builds sent is read too.
func TestControlKeepsRawJSON(t *testing.T) {
	t.Parallel()
	in := control{Op: "subscribe", Data: exactJSON(`{"d" : [1, 2]}`), Info: exactJSON(`"a string"`),
		ClientInfo: &controlClientInfo{User: "u", ConnInfo: exactJSON(`{ }`)}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out control
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if string(out.Data) != `{"d" : [1, 2]}` || string(out.Info) != `"a string"` || string(out.ClientInfo.ConnInfo) != `{ }` {
		t.Errorf("round trip of %s: data %s, info %s, conn_info %s", b, out.Data, out.Info, out.ClientInfo.ConnInfo)
	}
	var old control
	if err := json.Unmarshal([]byte(`{"op":"subscribe","data":{"d":[1,2]},"info":[1],"client_info":{"user":"u","client":"c","conn_info":{"n":1}}}`), &old); err != nil {
		t.Fatal(err)
	}
	if string(old.Data) != `{"d":[1,2]}` || string(old.Info) != `[1]` || string(old.ClientInfo.ConnInfo) != `{"n":1}` {
		t.Errorf("old form: data %s, info %s, conn_info %s", old.Data, old.Info, old.ClientInfo.ConnInfo)
	}
}
