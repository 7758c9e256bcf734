package broker

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/uniws/uniws/core"
)

func sameInfo(a, b core.ClientInfo) bool {
	return a.User == b.User && a.Client == b.Client && bytes.Equal(a.ConnInfo, b.ConnInfo) && bytes.Equal(a.ChanInfo, b.ChanInfo)
}

func TestPresenceCodecRoundTrip(t *testing.T) {
	for _, c := range []struct {
		id   string
		info core.ClientInfo
	}{
		{id: "c1", info: core.ClientInfo{User: "u", Client: "c1", ConnInfo: []byte(`{"a": 1}`), ChanInfo: []byte(`[1]`)}},
		{id: "c2", info: core.ClientInfo{Client: "c2"}},
		{id: "c3", info: core.ClientInfo{User: "a:b:12:ü", Client: "other"}},
		{id: "c4", info: core.ClientInfo{User: "u"}},
	} {
		v := encodePresence(c.id, c.info)
		got, err := decodePresence(c.id, string(v))
		if err != nil || !sameInfo(got, c.info) {
			t.Fatalf("round trip of %+v: %+v, %v", c.info, got, err)
		}
		// The scripts read the user as "<length>:<user>".
		n, rest, _ := strings.Cut(string(v), ":")
		if n != strconv.Itoa(len(c.info.User)) || !strings.HasPrefix(rest, c.info.User) {
			t.Fatalf("entry %q does not start with the user's length and the user", v)
		}
	}
	if v := encodePresence("c1", core.ClientInfo{User: "u", Client: "c1"}); bytes.Contains(v, []byte("c1")) {
		t.Fatalf("entry %q repeats the client id it is stored under", v)
	}
}

func TestJoinLeaveCodecRoundTrip(t *testing.T) {
	info := core.ClientInfo{User: "u", Client: "c", ConnInfo: []byte(`{ "x" : 1 }`)}
	for _, mark := range []byte{joinMark, leaveMark} {
		b := encodeJoinLeave(mark, info)
		if b[0] < 'a' || b[0] > 'z' {
			t.Fatalf("message %q could be read as a publication", b)
		}
		m, got, err := decodeJoinLeave(b)
		if err != nil || m != mark || !sameInfo(got, info) {
			t.Fatalf("round trip: %c %+v %v", m, got, err)
		}
	}
	for _, bad := range []string{"", "j", "x\x01\x00\x00\x00\x00", "j\x01\x05u", "j\x01\x00\x00\x00\x00extra"} {
		if _, _, err := decodeJoinLeave([]byte(bad)); err == nil {
			t.Errorf("%q decoded", bad)
		}
	}
}

func FuzzDecodePresence(f *testing.F) {
	f.Add(string(encodePresence("c", core.ClientInfo{User: "u", Client: "c", ConnInfo: []byte(`{}`)})))
	f.Add(string(encodePresence("c", core.ClientInfo{Client: "d"})))
	f.Add("9:u")
	f.Fuzz(func(t *testing.T, v string) {
		info, err := decodePresence("c", v)
		if err != nil {
			return
		}
		again, err := decodePresence("c", string(encodePresence("c", info)))
		if err != nil || !sameInfo(again, info) {
			t.Fatalf("re-encoding %+v: %+v, %v", info, again, err)
		}
	})
}

func FuzzDecodeJoinLeave(f *testing.F) {
	f.Add(encodeJoinLeave(joinMark, core.ClientInfo{User: "u", Client: "c", ChanInfo: []byte(`1`)}))
	f.Add([]byte("l\x01\x80"))
	f.Fuzz(func(t *testing.T, b []byte) {
		mark, info, err := decodeJoinLeave(b)
		if err != nil {
			return
		}
		m, again, err := decodeJoinLeave(encodeJoinLeave(mark, info))
		if err != nil || m != mark || !sameInfo(again, info) {
			t.Fatalf("re-encoding %+v: %+v, %v", info, again, err)
		}
	})
}
