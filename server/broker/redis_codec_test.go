package broker

import (
	"bytes"
	"testing"

	"github.com/uniws/uniws/core"
)

func TestPublicationCodecRoundTrip(t *testing.T) {
	for _, c := range []struct {
		data []byte
		info *core.ClientInfo
		tags map[string]string
	}{
		{data: []byte(`{"a": 1}`)},
		{data: []byte{}, info: &core.ClientInfo{User: "u", Client: "c"}},
		{data: []byte("x:y:z\n"), info: &core.ClientInfo{ConnInfo: []byte(`{ }`), ChanInfo: []byte(`[1]`)}, tags: map[string]string{"k": "v", "": ""}},
	} {
		pub, err := decodePublication(encodePublication(c.data, c.info, c.tags))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(pub.Data, c.data) || len(pub.Tags) != len(c.tags) || (pub.Info == nil) != (c.info == nil) {
			t.Fatalf("round trip of %q: %+v", c.data, pub)
		}
		if c.info != nil && (pub.Info.User != c.info.User || string(pub.Info.ConnInfo) != string(c.info.ConnInfo) || string(pub.Info.ChanInfo) != string(c.info.ChanInfo)) {
			t.Fatalf("info %+v, want %+v", pub.Info, c.info)
		}
		for k, v := range c.tags {
			if pub.Tags[k] != v {
				t.Fatalf("tag %q: %q", k, pub.Tags[k])
			}
		}
	}
}

func FuzzDecodePublication(f *testing.F) {
	f.Add(encodePublication([]byte(`{}`), &core.ClientInfo{User: "u"}, map[string]string{"a": "b"}))
	f.Add([]byte{1, 200, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		pub, err := decodePublication(b)
		if err != nil {
			return
		}
		again, err := decodePublication(encodePublication(pub.Data, pub.Info, pub.Tags))
		if err != nil || !bytes.Equal(again.Data, pub.Data) {
			t.Fatalf("re-encoding a decoded body failed: %v", err)
		}
	})
}

func TestParseMessage(t *testing.T) {
	sp, body, err := parseMessage("12:abcdefgh:x:y")
	if err != nil || sp != (StreamPosition{Offset: 12, Epoch: "abcdefgh"}) || string(body) != "x:y" {
		t.Fatalf("%+v %q %v", sp, body, err)
	}
	for _, bad := range []string{"", "12", "12:e", "x:e:b"} {
		if _, _, err := parseMessage(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestJumpHash(t *testing.T) {
	const keys = 10000
	counts := make([]int, 4)
	moved := 0
	for i := range keys {
		k := fnv64a("channel" + string(rune(i)))
		b4 := jumpHash(k, 4)
		counts[b4]++
		if b5 := jumpHash(k, 5); b5 != b4 && b5 != 4 {
			t.Fatalf("key moved between old buckets %d -> %d", b4, b5)
		} else if b5 == 4 {
			moved++
		}
		if jumpHash(k, 1) != 0 {
			t.Fatal("one bucket")
		}
	}
	for i, c := range counts {
		if c < keys/8 {
			t.Fatalf("bucket %d holds %d of %d keys", i, c, keys)
		}
	}
	if moved < keys/10 || moved > keys/3 {
		t.Fatalf("adding a fifth bucket moved %d of %d keys", moved, keys)
	}
}
