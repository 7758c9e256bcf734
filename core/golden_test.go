package core

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// framesDir holds one golden push per file (see its README.md).
const framesDir = "../testdata/frames"

func raw(s string) json.RawMessage { return json.RawMessage(s) }

func readGolden(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(framesDir, name+".json"))
	if err != nil {
		t.Fatalf("read golden %s: %v", name, err)
	}
	return b
}

// goldenPushes are the pushes behind each golden file. Ids, epochs and ttls
// are those of the Centrifugo v6.9.1 capture the frame comes from.
func goldenPushes() map[string]*Push {
	return map[string]*Push{
		"connect_seed": {Connect: &Connect{
			Client:  "1a0347fd-24de-4228-a7b6-e121229b1515",
			Version: "0.0.0 OSS",
			Subs:    map[string]*SubscribeResult{"#test_user": {}},
			Expires: true, TTL: 3600, Ping: 25,
			Session: "698cd79c-4a9b-4950-a060-faeaddee5e62",
		}},
		"connect_channels_claim": {Connect: &Connect{
			Client:  "d8cbcbf7-fec6-44cf-8719-08f77972878a",
			Version: "0.0.0 OSS",
			Subs:    map[string]*SubscribeResult{"news": {}, "open:a": {}, "#u": nil},
			Ping:    25,
			Session: "bca0ca54-3fb9-4fa6-a5de-4544a45000dc",
		}},
		"connect_client_subs": {Connect: &Connect{
			Client:  "ccadccb7-b013-4631-a265-513576819416",
			Version: "0.0.0 OSS",
			Subs:    map[string]*SubscribeResult{"open:x": {}, "#test_user": {}},
			Expires: true, TTL: 3591, Ping: 25,
			Session: "97528e4e-40dc-4b8d-8d9a-afcf5efea2af",
		}},
		"connect_positioned": {Connect: &Connect{
			Client:  "c36590aa-4317-46cf-b774-3efe2a10756d",
			Version: "0.0.0 OSS",
			Subs: map[string]*SubscribeResult{
				"hist:r": {Recoverable: true, Epoch: "trPKmZbP", Offset: 3, Positioned: true},
				"#u":     {},
			},
			Ping:    25,
			Session: "daf14f97-45e7-46a4-b6d8-599affc92f62",
		}},
		"connect_recovered": {Connect: &Connect{
			Client:  "d71049af-db2f-46d3-99dd-348abd4cd018",
			Version: "0.0.0 OSS",
			Subs: map[string]*SubscribeResult{
				"#u": {},
				"hist:r": {
					Recoverable: true, Epoch: "trPKmZbP",
					Publications: []*Publication{
						{Data: raw(`{"i": 1}`), Offset: 2},
						{Data: raw(`{"i": 2}`), Offset: 3},
					},
					Recovered: true, Offset: 1, Positioned: true, WasRecovering: true,
				},
			},
			Ping:    25,
			Session: "642951c3-987b-496f-807b-838035fa6d98",
		}},
		"connect_not_recovered": {Connect: &Connect{
			Client:  "0b6f1c9e-3f7d-4a51-9d2e-5c8a7b6e4f01",
			Version: "0.0.0 OSS",
			Subs: map[string]*SubscribeResult{
				"#u":     {},
				"hist:r": {Recoverable: true, Epoch: "xYzAbCdE", Offset: 7, Positioned: true, WasRecovering: true},
			},
			Ping:    25,
			Session: "6e2d9a41-8c3b-4f0e-a7d5-1b9c2e3f4a50",
		}},
		"connect_data": {Connect: &Connect{
			Client:  "5f3c2a1b-7d4e-4c9f-8a6b-0e1d2c3b4a59",
			Version: "1.2.3",
			Data:    raw(`{"greeting": "hi"}`),
			Subs:    map[string]*SubscribeResult{"news": {Expires: true, TTL: 60, Data: raw(`{"x": 1}`)}},
			Expires: true, TTL: 3600, Ping: 25,
			Session: "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d",
		}},
		"pub_seed": {Channel: "#test_user", Pub: &Publication{Data: raw(`{"text": "hello"}`)}},
		"pub_news": {Channel: "news", Pub: &Publication{Data: raw(`{"n": 1}`)}},
		"pub_open": {Channel: "open:x", Pub: &Publication{Data: raw(`{"o": 1}`)}},
		"pub_first_offset": {Channel: "hist:r", Pub: &Publication{
			Data: raw(`{"i": 1, "s": "a b"}`),
			Info: &ClientInfo{
				User: "42", Client: "c36590aa-4317-46cf-b774-3efe2a10756d",
				ConnInfo: raw(`{"name": "Ann"}`), ChanInfo: raw(`{"role":"admin"}`),
			},
			Offset: 1,
			Tags:   map[string]string{"z": "<&>", "a": "1"},
			Epoch:  "trPKmZbP",
		}},
		"pub_offset": {Channel: "hist:r", Pub: &Publication{Data: raw(`[1, 2, 3]`), Offset: 18}},
		"join": {Channel: "chat", Join: &Join{Info: ClientInfo{
			User: "42", Client: "c36590aa-4317-46cf-b774-3efe2a10756d", ConnInfo: raw(`{"name":"Ann"}`),
		}}},
		"leave": {Channel: "chat", Leave: &Leave{Info: ClientInfo{
			Client: "d71049af-db2f-46d3-99dd-348abd4cd018",
		}}},
		"unsubscribe":              {Channel: "news", Unsubscribe: &Unsubscribe{Code: 2000, Reason: "server unsubscribe"}},
		"subscribe":                {Channel: "news", Subscribe: &Subscribe{Recoverable: true, Epoch: "trPKmZbP", Offset: 5, Positioned: true}},
		"subscribe_data":           {Channel: "news", Subscribe: &Subscribe{Data: raw(`{"welcome": true}`)}},
		"refresh":                  {Refresh: &Refresh{Expires: true, TTL: 3600}},
		"disconnect_invalid_token": {Disconnect: ptr(CodeInvalidToken.Disconnect())},
		"disconnect_bad_request":   {Disconnect: ptr(CodeBadRequest.Disconnect())},
		"disconnect_expired":       {Disconnect: ptr(CodeExpired.Disconnect())},
		"disconnect_shutdown":      {Disconnect: ptr(CodeShutdown.Disconnect())},
		"ping":                     {},
		"message":                  {Message: &Message{Data: raw(`{"text": "direct"}`)}},
	}
}

func ptr[T any](v T) *T { return &v }

func TestGoldenFrames(t *testing.T) {
	t.Parallel()
	pushes := goldenPushes()
	files, err := filepath.Glob(filepath.Join(framesDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	// Every golden file has a push and every push has a golden file.
	onDisk := map[string]bool{}
	for _, f := range files {
		onDisk[strings.TrimSuffix(filepath.Base(f), ".json")] = true
	}
	for name := range pushes {
		if !onDisk[name] {
			t.Errorf("push %q has no golden file", name)
		}
	}
	for name := range onDisk {
		if pushes[name] == nil {
			t.Errorf("golden file %q has no push in goldenPushes", name)
		}
	}
	for name, p := range pushes {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			want := readGolden(t, name)
			if bytes.HasSuffix(want, []byte("\n")) {
				t.Fatalf("golden %s ends with a newline", name)
			}
			if got := p.AppendJSON(nil); !bytes.Equal(got, want) {
				t.Errorf("AppendJSON\n got %s\nwant %s", got, want)
			}
			// MarshalJSON is the same bytes, and AppendJSON appends.
			if got, _ := p.MarshalJSON(); !bytes.Equal(got, want) {
				t.Errorf("MarshalJSON\n got %s\nwant %s", got, want)
			}
			prefix := []byte("x\n")
			if got := p.AppendJSON(append([]byte(nil), prefix...)); !bytes.Equal(got, append(prefix, want...)) {
				t.Errorf("AppendJSON does not append: %q", got)
			}
			// Decoding the golden with encoding/json and encoding again
			// gives the same bytes.
			var back Push
			if err := json.Unmarshal(want, &back); err != nil {
				t.Fatalf("decode golden: %v", err)
			}
			if got := back.AppendJSON(nil); !bytes.Equal(got, want) {
				t.Errorf("round trip\n got %s\nwant %s", got, want)
			}
			if !json.Valid(want) {
				t.Errorf("golden is not valid JSON")
			}
		})
	}
}

// centrifugoFrames are the frames of shared/frames-centrifugo-v6.9.1.md,
// verbatim, with the golden file each one became.
func centrifugoFrames() []struct{ golden, frame string } {
	return []struct{ golden, frame string }{
		{"connect_seed", `{"connect":{"client":"1a0347fd-24de-4228-a7b6-e121229b1515","version":"0.0.0 OSS","subs":{"#test_user":{}},"expires":true,"ttl":3600,"ping":25,"session":"698cd79c-4a9b-4950-a060-faeaddee5e62"}}`},
		{"pub_seed", `{"channel":"#test_user","pub":{"data":{"text": "hello"}}}`},
		{"disconnect_invalid_token", `{"disconnect":{"code":3500,"reason":"invalid token"}}`},
		{"disconnect_bad_request", `{"disconnect":{"code":3501,"reason":"bad request"}}`},
		{"disconnect_expired", `{"disconnect":{"code":3005,"reason":"connection expired"}}`},
		{"connect_channels_claim", `{"connect":{"client":"d8cbcbf7-fec6-44cf-8719-08f77972878a","version":"0.0.0 OSS","subs":{"news":{},"open:a":{},"#u":{}},"ping":25,"session":"bca0ca54-3fb9-4fa6-a5de-4544a45000dc"}}`},
		{"pub_news", `{"channel":"news","pub":{"data":{"n": 1}}}`},
		{"connect_client_subs", `{"connect":{"client":"ccadccb7-b013-4631-a265-513576819416","version":"0.0.0 OSS","subs":{"open:x":{},"#test_user":{}},"expires":true,"ttl":3591,"ping":25,"session":"97528e4e-40dc-4b8d-8d9a-afcf5efea2af"}}`},
		{"pub_open", `{"channel":"open:x","pub":{"data":{"o": 1}}}`},
		{"connect_positioned", `{"connect":{"client":"c36590aa-4317-46cf-b774-3efe2a10756d","version":"0.0.0 OSS","subs":{"hist:r":{"recoverable":true,"epoch":"trPKmZbP","offset":3,"positioned":true},"#u":{}},"ping":25,"session":"daf14f97-45e7-46a4-b6d8-599affc92f62"}}`},
		{"connect_recovered", `{"connect":{"client":"d71049af-db2f-46d3-99dd-348abd4cd018","version":"0.0.0 OSS","subs":{"#u":{},"hist:r":{"recoverable":true,"epoch":"trPKmZbP","publications":[{"data":{"i": 1},"offset":2},{"data":{"i": 2},"offset":3}],"recovered":true,"offset":1,"positioned":true,"was_recovering":true}},"ping":25,"session":"642951c3-987b-496f-807b-838035fa6d98"}}`},
	}
}

// TestGoldenFramesMatchCentrifugo holds the goldens (and so the encoder) to
// Centrifugo's frames: byte for byte, except that connect.subs keys are
// compared after sorting them, since uniws sorts them.
func TestGoldenFramesMatchCentrifugo(t *testing.T) {
	t.Parallel()
	pushes := goldenPushes()
	for _, tc := range centrifugoFrames() {
		t.Run(tc.golden, func(t *testing.T) {
			t.Parallel()
			want := readGolden(t, tc.golden)
			got := sortConnectSubs(t, []byte(tc.frame))
			if !bytes.Equal(got, want) {
				t.Errorf("capture (subs sorted)\n got %s\nwant %s", got, want)
			}
			if enc := pushes[tc.golden].AppendJSON(nil); !bytes.Equal(enc, got) {
				t.Errorf("encoder vs capture\n got %s\nwant %s", enc, got)
			}
		})
	}
}

// sortConnectSubs rewrites the connect.subs object of a frame with its keys
// sorted, keeping every value and every other byte as it was.
func sortConnectSubs(t *testing.T, frame []byte) []byte {
	t.Helper()
	const marker = `"subs":`
	if !bytes.HasPrefix(frame, []byte(`{"connect":`)) {
		return frame
	}
	i := bytes.Index(frame, []byte(marker))
	if i < 0 {
		return frame
	}
	start := i + len(marker)
	dec := json.NewDecoder(bytes.NewReader(frame[start:]))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("subs is not an object: %v %v", tok, err)
	}
	type entry struct {
		key string
		val json.RawMessage
	}
	var entries []entry
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		entries = append(entries, entry{tok.(string), v})
	}
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	end := start + int(dec.InputOffset())
	sort.Slice(entries, func(a, b int) bool { return entries[a].key < entries[b].key })
	out := append([]byte(nil), frame[:start]...)
	out = append(out, '{')
	for n, e := range entries {
		if n > 0 {
			out = append(out, ',')
		}
		k, _ := json.Marshal(e.key)
		out = append(out, k...)
		out = append(out, ':')
		out = append(out, e.val...)
	}
	out = append(out, '}')
	return append(out, frame[end:]...)
}

func TestSortConnectSubsKeepsSortedFrames(t *testing.T) {
	t.Parallel()
	in := `{"connect":{"client":"c","subs":{"#a":{"offset":1},"b":{}},"ping":25}}`
	if got := string(sortConnectSubs(t, []byte(in))); got != in {
		t.Errorf("got %s", got)
	}
	swapped := `{"connect":{"client":"c","subs":{"b":{},"#a":{"offset":1}},"ping":25}}`
	if got := string(sortConnectSubs(t, []byte(swapped))); got != in {
		t.Errorf("got %s", got)
	}
}

func TestRawPayloadNewlinesStripped(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		push *Push
		want string
	}{
		{"pub data", &Push{Channel: "c", Pub: &Publication{Data: raw("{\n  \"a\": 1,\n  \"b\": [1,\n2]\n}\n")}},
			`{"channel":"c","pub":{"data":{  "a": 1,  "b": [1,2]}}}`},
		{"pub data CRLF keeps CR", &Push{Channel: "c", Pub: &Publication{Data: raw("{\"a\":\r\n1}")}},
			"{\"channel\":\"c\",\"pub\":{\"data\":{\"a\":\r1}}}"},
		{"info payloads", &Push{Channel: "c", Join: &Join{Info: ClientInfo{User: "u", Client: "x", ConnInfo: raw("{\n\"n\":1}"), ChanInfo: raw("[\n]")}}},
			`{"channel":"c","join":{"info":{"user":"u","client":"x","conn_info":{"n":1},"chan_info":[]}}}`},
		{"message", &Push{Message: &Message{Data: raw("\n\"s\"\n")}}, `{"message":{"data":"s"}}`},
		{"connect data and sub data", &Push{Connect: &Connect{Data: raw("{\n}"), Subs: map[string]*SubscribeResult{"a": {Data: raw("1\n")}}}},
			`{"connect":{"data":{},"subs":{"a":{"data":1}}}}`},
		{"subscribe data", &Push{Channel: "c", Subscribe: &Subscribe{Data: raw("[1,\n2]")}}, `{"channel":"c","subscribe":{"data":[1,2]}}`},
		{"recovered publications", &Push{Connect: &Connect{Subs: map[string]*SubscribeResult{"a": {Publications: []*Publication{{Data: raw("{\n}"), Offset: 1}}}}}},
			`{"connect":{"subs":{"a":{"publications":[{"data":{},"offset":1}]}}}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := tc.push.AppendJSON(nil)
			if string(got) != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
			if bytes.IndexByte(got, '\n') >= 0 {
				t.Errorf("frame holds a newline: %q", got)
			}
		})
	}
}

func TestEmptyFieldsOmitted(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		push *Push
		want string
	}{
		{"empty publication", &Push{Channel: "c", Pub: &Publication{}}, `{"channel":"c","pub":{}}`},
		{"empty tags map", &Push{Channel: "c", Pub: &Publication{Tags: map[string]string{}}}, `{"channel":"c","pub":{}}`},
		{"empty connect", &Push{Connect: &Connect{}}, `{"connect":{}}`},
		{"empty subs map", &Push{Connect: &Connect{Subs: map[string]*SubscribeResult{}, Ping: 25}}, `{"connect":{"ping":25}}`},
		{"empty unsubscribe", &Push{Channel: "c", Unsubscribe: &Unsubscribe{}}, `{"channel":"c","unsubscribe":{}}`},
		{"disconnect keeps zero fields", &Push{Disconnect: &Disconnect{}}, `{"disconnect":{"code":0,"reason":""}}`},
		{"client info keeps empty user and client", &Push{Channel: "c", Leave: &Leave{}}, `{"channel":"c","leave":{"info":{"user":"","client":""}}}`},
		{"empty refresh", &Push{Refresh: &Refresh{}}, `{"refresh":{}}`},
		{"empty message", &Push{Message: &Message{}}, `{"message":{}}`},
		{"ping with no channel", &Push{}, `{}`},
		{"all sub result fields in order", &Push{Connect: &Connect{Subs: map[string]*SubscribeResult{"c": {
			Expires: true, TTL: 1, Recoverable: true, Epoch: "e", Publications: []*Publication{{Offset: 2}},
			Recovered: true, Offset: 3, Positioned: true, Data: raw(`4`), WasRecovering: true,
		}}}}, `{"connect":{"subs":{"c":{"expires":true,"ttl":1,"recoverable":true,"epoch":"e","publications":[{"offset":2}],"recovered":true,"offset":3,"positioned":true,"data":4,"was_recovering":true}}}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := string(tc.push.AppendJSON(nil)); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestPushKind(t *testing.T) {
	t.Parallel()
	pushes := goldenPushes()
	want := map[string]string{
		"connect_seed": "connect", "pub_seed": "pub", "join": "join", "leave": "leave",
		"unsubscribe": "unsubscribe", "message": "message", "subscribe": "subscribe",
		"disconnect_expired": "disconnect", "refresh": "refresh", "ping": "ping",
	}
	for name, kind := range want {
		if got := pushes[name].Kind(); got != kind {
			t.Errorf("%s: Kind() = %q, want %q", name, got, kind)
		}
	}
}

func TestPublicationMarshalJSON(t *testing.T) {
	t.Parallel()
	p := &Publication{Data: raw(`{"a": 1}`), Offset: 1, Epoch: "e"}
	got, err := p.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"data":{"a": 1},"offset":1,"epoch":"e"}`; string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
