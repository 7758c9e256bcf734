package core

import (
	"encoding/json"
	"testing"
)

// BenchmarkAppendJSON measures encoding one push into a reused buffer: the
// server does this once per publication per channel, whatever the number of
// subscribers.
func BenchmarkAppendJSON(b *testing.B) {
	pub := &Push{Channel: "news", Pub: &Publication{
		Data:   json.RawMessage(`{"seq":123456,"ts":1700000000000000000,"pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}`),
		Offset: 42,
	}}
	connect := &Push{Connect: &Connect{
		Client: "1a0347fd-24de-4228-a7b6-e121229b1515", Version: "1.0.0",
		Subs:    map[string]*SubscribeResult{"#test_user": {}, "news": {Recoverable: true, Epoch: "trPKmZbP", Offset: 3, Positioned: true}},
		Expires: true, TTL: 3600, Ping: 25, Session: "698cd79c-4a9b-4950-a060-faeaddee5e62",
	}}
	for _, c := range []struct {
		name string
		p    *Push
	}{{"publication", pub}, {"connect", connect}} {
		b.Run(c.name, func(b *testing.B) {
			buf := make([]byte, 0, 512)
			b.ReportAllocs()
			for b.Loop() {
				buf = c.p.AppendJSON(buf[:0])
			}
			b.SetBytes(int64(len(buf)))
		})
	}
}
