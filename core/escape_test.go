package core

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"unicode/utf8"
)

// jsonString is encoding/json's encoding of s, the reference appendString
// must match.
func jsonString(t testing.TB, s string) []byte {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatalf("json.Marshal(%q): %v", s, err)
	}
	return b
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	cases := []string{
		"", "plain", `quote " and backslash \`, "<script>&amp;</script>",
		"\x00\x01\x02\x07\x08\x09\x0a\x0b\x0c\x0d\x1b\x1f", "\x7f del",
		"\u2028 line sep \u2029 para sep", "é ü 日本 🎉",
		"\xff", "a\xffb", "\xc3", "\xc3(", "\xe2\x82", "\xed\xa0\x80 surrogate",
		"\xf4\x90\x80\x80 above max", "\xef\xbf\xbd literal replacement",
		"\u2027\u202a near 2028", "#user,42", "$private:ns#1,2",
	}
	for _, s := range cases {
		if got, want := appendString(nil, s), jsonString(t, s); !bytes.Equal(got, want) {
			t.Errorf("appendString(%q)\n got %s\nwant %s", s, got, want)
		}
	}
}

// TestAppendStringProperty compares appendString with encoding/json on
// random strings drawn from an alphabet rich in the bytes that need care.
func TestAppendStringProperty(t *testing.T) {
	t.Parallel()
	alphabet := []string{
		"a", "Z", "0", " ", "\"", "\\", "/", "<", ">", "&", "\x00", "\x1f", "\n", "\r", "\t",
		"\b", "\f", "\x7f", "é", "日", "🎉", "\u2028", "\u2029", "\ufffd",
		"\x80", "\xbf", "\xc0", "\xc3", "\xe2\x80", "\xed\xa0\x80", "\xf0\x9f", "\xff",
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		var b []byte
		for n := r.IntN(12); n > 0; n-- {
			b = append(b, alphabet[r.IntN(len(alphabet))]...)
		}
		s := string(b)
		got, want := appendString(nil, s), jsonString(t, s)
		if !bytes.Equal(got, want) {
			t.Fatalf("appendString(%q)\n got %s\nwant %s", s, got, want)
		}
	}
}

// TestStringsEscapedInEveryField checks that the escaping reaches every
// string field of a push, and that the result decodes back to the input.
func TestStringsEscapedInEveryField(t *testing.T) {
	t.Parallel()
	s := "<a>&\"\\\n\u2028"
	valid := s // valid UTF-8, so it decodes back unchanged
	p := &Push{
		Channel: s,
		Pub: &Publication{
			Info:  &ClientInfo{User: s, Client: s},
			Tags:  map[string]string{s: s},
			Epoch: s,
		},
		Unsubscribe: &Unsubscribe{Code: 1, Reason: s},
		Subscribe:   &Subscribe{Epoch: s},
		Connect: &Connect{
			Client: s, Version: s, Session: s,
			Subs: map[string]*SubscribeResult{s: {Epoch: s}},
		},
		Disconnect: &Disconnect{Code: 1, Reason: s},
	}
	enc := p.AppendJSON(nil)
	esc := string(jsonString(t, s))
	if n := bytes.Count(enc, []byte(esc)); n != 14 {
		t.Errorf("escaped string appears %d times, want 14: %s", n, enc)
	}
	var back Push
	if err := json.Unmarshal(enc, &back); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if back.Channel != valid || back.Connect.Subs[valid] == nil || back.Pub.Tags[valid] != valid || back.Disconnect.Reason != valid {
		t.Errorf("round trip lost the string: %+v", back)
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a", "<>&", "\u2028", "\xff", "\x00", "日本"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := appendString(nil, s)
		if want := jsonString(t, s); !bytes.Equal(got, want) {
			t.Fatalf("appendString(%q)\n got %s\nwant %s", s, got, want)
		}
		if !utf8.Valid(got) {
			t.Fatalf("output is not UTF-8: %q", got)
		}
	})
}
