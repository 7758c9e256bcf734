package core

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseChannel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		channel string
		maxLen  int
		want    ChannelName
		err     string // substring of the error; "" for none
	}{
		{"plain", "news", 0, ChannelName{Name: "news"}, ""},
		{"private", "$secret", 0, ChannelName{Name: "$secret", Private: true}, ""},
		{"private with namespace", "$public:chat", 0, ChannelName{Name: "$public:chat", Private: true, Namespace: "public"}, ""},
		{"namespace", "chat:room", 0, ChannelName{Name: "chat:room", Namespace: "chat"}, ""},
		{"first colon splits namespace", "ns:a:b", 0, ChannelName{Name: "ns:a:b", Namespace: "ns"}, ""},
		{"empty namespace", ":x", 0, ChannelName{Name: ":x"}, ""},
		{"user limited", "ns:#42,43", 0, ChannelName{Name: "ns:#42,43", Namespace: "ns", Limited: true, Users: []string{"42", "43"}}, ""},
		{"user limited with prefix", "dialog#42,43", 0, ChannelName{Name: "dialog#42,43", Limited: true, Users: []string{"42", "43"}}, ""},
		{"personal", "#user", 0, ChannelName{Name: "#user", Limited: true, Users: []string{"user"}}, ""},
		{"personal in namespace", "personal:#user", 0, ChannelName{Name: "personal:#user", Namespace: "personal", Limited: true, Users: []string{"user"}}, ""},
		{"last boundary wins", "a#b#c", 0, ChannelName{Name: "a#b#c", Limited: true, Users: []string{"c"}}, ""},
		{"empty user list", "ns:#", 0, ChannelName{Name: "ns:#", Namespace: "ns", Limited: true}, ""},
		{"empty user in list", "#1,,2", 0, ChannelName{Name: "#1,,2", Limited: true, Users: []string{"1", "", "2"}}, ""},
		{"unicode", "日本:ü", 0, ChannelName{Name: "日本:ü", Namespace: "日本"}, ""},
		{"max length", strings.Repeat("a", 255), 0, ChannelName{Name: strings.Repeat("a", 255)}, ""},
		{"over max length", strings.Repeat("a", 256), 0, ChannelName{}, "longer than 255"},
		{"custom max length", "abcdefghij", 10, ChannelName{Name: "abcdefghij"}, ""},
		{"over custom max length", "abcdefghijk", 10, ChannelName{}, "longer than 10"},
		{"negative max length means default", strings.Repeat("a", 255), -1, ChannelName{Name: strings.Repeat("a", 255)}, ""},
		{"length counts bytes", strings.Repeat("é", 128), 0, ChannelName{}, "longer than 255"},
		{"empty", "", 0, ChannelName{}, "empty"},
		{"nul", "a\x00b", 0, ChannelName{}, "control character"},
		{"newline", "a\nb", 0, ChannelName{}, "control character"},
		{"tab", "a\tb", 0, ChannelName{}, "control character"},
		{"unit separator", "a\x1f", 0, ChannelName{}, "control character"},
		{"delete", "a\x7f", 0, ChannelName{}, "control character"},
		{"invalid UTF-8", "a\xffb", 0, ChannelName{}, "UTF-8"},
		{"truncated UTF-8", "\xc3", 0, ChannelName{}, "UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseChannel(tc.channel, tc.maxLen)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one containing %q", err, tc.err)
				}
				if !IsChannelNameError(err) {
					t.Errorf("IsChannelNameError(%v) = false", err)
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
	if IsChannelNameError(errors.New("invalid channel name")) {
		t.Error("IsChannelNameError matched an unrelated error")
	}
}

func TestAllowsUser(t *testing.T) {
	t.Parallel()
	c, err := ParseChannel("ns:#42,43", 0)
	if err != nil {
		t.Fatal(err)
	}
	for user, want := range map[string]bool{"42": true, "43": true, "4": false, "42,43": false, "": false} {
		if got := c.AllowsUser(user); got != want {
			t.Errorf("AllowsUser(%q) = %v, want %v", user, got, want)
		}
	}
	empty, _ := ParseChannel("#1,,2", 0)
	if empty.AllowsUser("") {
		t.Error("an empty user must never match an empty list entry")
	}
}

func TestPersonalChannel(t *testing.T) {
	t.Parallel()
	if got := PersonalChannel("", "test_user"); got != "#test_user" {
		t.Errorf("got %q", got)
	}
	if got := PersonalChannel("personal", "42"); got != "personal:#42" {
		t.Errorf("got %q", got)
	}
}

func TestValidNamespaceName(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"ab": true, "open": true, "a-b_c.d": true, "A9": true, "--": true,
		"": false, "a": false, "a b": false, "ns:": false, "a#b": false, "$ab": false, "日本": false, "ab\n": false,
	} {
		if got := ValidNamespaceName(name); got != want {
			t.Errorf("ValidNamespaceName(%q) = %v, want %v", name, got, want)
		}
	}
}

// permissionsConfig has one namespace per branch of PROTOCOL.md §6.
const permissionsConfig = `{
  "token_hmac_secret_key": "secret",
  "user_subscribe_to_personal": true,
  "allow_user_limited_channels": true,
  "namespaces": [
    {"name": "open", "allow_subscribe_for_client": true},
    {"name": "anon", "allow_subscribe_for_client": true, "allow_subscribe_for_anonymous": true},
    {"name": "hist", "history_size": 10, "history_ttl": "300s", "force_recovery": true},
    {"name": "users", "allow_user_limited_channels": true},
    {"name": "both", "allow_user_limited_channels": true, "allow_subscribe_for_client": true},
    {"name": "rx", "allow_subscribe_for_client": true, "channel_regex": "^[a-z]+$"},
    {"name": "rxusers", "allow_user_limited_channels": true, "channel_regex": "^room#"},
    {"name": "wide", "allow_subscribe_for_client": true, "channel_regex": "^.+$"}
  ]
}`

func TestClientSubscribeAllowed(t *testing.T) {
	t.Parallel()
	cfg, err := ParseConfig("json", []byte(permissionsConfig), nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		user    string
		channel string
		want    Refusal
		unknown bool // ErrUnknownNamespace expected
	}{
		{"seed: top level without permission", "test_user", "abc", RefusedNotPermitted, false},
		{"namespace allows clients", "test_user", "open:x", "", false},
		{"anonymous needs its own permission", "", "open:x", RefusedAnonymous, false},
		{"anonymous allowed", "", "anon:x", "", false},
		{"user in anonymous namespace", "u", "anon:x", "", false},
		{"private", "u", "$priv", RefusedPrivate, false},
		{"private in open namespace", "u", "$open:x", RefusedPrivate, false},
		{"namespace without permission", "u", "hist:y", RefusedNotPermitted, false},
		{"unknown namespace", "u", "nope:x", "", true},
		{"unknown namespace checked before private", "u", "$nope:x", "", true},
		{"user limited, first user", "42", "users:#42,43", "", false},
		{"user limited, second user", "43", "users:#42,43", "", false},
		{"user limited, other user", "44", "users:#42,43", RefusedUserNotAllowed, false},
		{"user limited, anonymous", "", "users:#42,43", RefusedUserNotAllowed, false},
		{"user limited, empty list", "", "users:#", RefusedUserNotAllowed, false},
		{"personal channel at top level", "test_user", "#test_user", "", false},
		{"someone else's personal channel", "other", "#test_user", RefusedUserNotAllowed, false},
		{"user limited without the option falls back to client permission", "44", "open:#42", "", false},
		{"user limited without the option nor permission", "42", "hist:#42", RefusedNotPermitted, false},
		// Centrifugo: a user-limited channel the user is not listed in is
		// still granted when the namespace allows client subscriptions.
		{"user limited, not listed, namespace allows clients", "44", "both:#42", "", false},
		{"user limited, listed, namespace allows clients", "42", "both:#42", "", false},
		{"user limited, anonymous, namespace allows clients but not anonymous", "", "both:#42", RefusedUserNotAllowed, false},
		// channel_regex is matched against the name after "ns:", as in Centrifugo.
		{"regex matches the name after the namespace", "u", "rx:abc", "", false},
		{"regex refuses", "u", "rx:ABC", RefusedRegex, false},
		{"regex refuses before user limits", "42", "rxusers:hall#42", RefusedRegex, false},
		{"regex then user limits", "42", "rxusers:room#42", "", false},
		{"regex then user limits, other user", "43", "rxusers:room#42", RefusedUserNotAllowed, false},
		{"regex allows non-ASCII", "u", "wide:日本", "", false},
		// Without channel_regex Centrifugo refuses non-ASCII names.
		{"non-ASCII without regex", "u", "open:日本", RefusedNonASCII, false},
		{"invalid name", "u", "open:a\x00", RefusedInvalid, false},
		{"invalid UTF-8", "u", "open:\xff", RefusedInvalid, false},
		{"empty name", "u", "", RefusedInvalid, false},
		{"too long", "u", "open:" + strings.Repeat("a", 251), RefusedInvalid, false},
		{"longest allowed", "u", "open:" + strings.Repeat("a", 250), "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := cfg.ClientSubscribeAllowed(tc.user, tc.channel)
			if tc.unknown {
				if !errors.Is(err, ErrUnknownNamespace) {
					t.Fatalf("err = %v, want ErrUnknownNamespace", err)
				}
				if !strings.Contains(err.Error(), tc.channel) {
					t.Errorf("error %q does not name the channel", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if got != tc.want {
				t.Errorf("refusal = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestClientSubscribeAllowedTopLevelRegex(t *testing.T) {
	t.Parallel()
	cfg, err := ParseConfig("json", []byte(`{"allow_subscribe_for_client":true,"channel_regex":"^news"}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	for ch, want := range map[string]Refusal{"news": "", "news-1": "", "other": RefusedRegex, "$news": RefusedPrivate} {
		got, err := cfg.ClientSubscribeAllowed("u", ch)
		if err != nil || got != want {
			t.Errorf("%q: refusal %q err %v, want %q", ch, got, err, want)
		}
	}
}

// TestClientSubscribeAllowedUnvalidated checks that a channel_regex is
// enforced even on a configuration that skipped Validate.
func TestClientSubscribeAllowedUnvalidated(t *testing.T) {
	t.Parallel()
	cfg := Default()
	cfg.Namespaces = []Namespace{{Name: "rx", ChannelOptions: ChannelOptions{AllowSubscribeForClient: true, ChannelRegex: "^[a-z]+$"}}}
	if got, err := cfg.ClientSubscribeAllowed("u", "rx:ABC"); err != nil || got != RefusedRegex {
		t.Errorf("refusal %q err %v, want %q", got, err, RefusedRegex)
	}
	if got, err := cfg.ClientSubscribeAllowed("u", "rx:abc"); err != nil || got != "" {
		t.Errorf("refusal %q err %v, want none", got, err)
	}
	cfg.Namespaces[0].ChannelRegex = "("
	if got, err := cfg.ClientSubscribeAllowed("u", "rx:abc"); err != nil || got != RefusedRegex {
		t.Errorf("bad regex: refusal %q err %v, want %q", got, err, RefusedRegex)
	}
}

func TestChannelOptionsFor(t *testing.T) {
	t.Parallel()
	cfg, err := ParseConfig("json", []byte(permissionsConfig), nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		channel string
		found   bool
		history bool
		client  bool
	}{
		{"news", true, false, false},
		{"hist:r", true, true, false},
		{"$hist:r", true, true, false},
		{"open:x", true, false, true},
		{"nope:x", false, false, false},
		{"", false, false, false},
	}
	for _, tc := range tests {
		opts, found := cfg.ChannelOptionsFor(tc.channel)
		if found != tc.found || opts.HistoryEnabled() != tc.history || opts.AllowSubscribeForClient != tc.client {
			t.Errorf("%q: found %v history %v client %v", tc.channel, found, opts.HistoryEnabled(), opts.AllowSubscribeForClient)
		}
	}
	if opts, ok := cfg.NamespaceOptions(""); !ok || !opts.AllowUserLimitedChannels {
		t.Errorf("top-level options: %+v %v", opts, ok)
	}
}

func TestChannelRest(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"news": "news", "$news": "$news", "ns:a": "a", "$ns:a": "a", "ns:a:b": "a:b", ":x": "x", "ns:": "",
	} {
		if got := channelRest(in); got != want {
			t.Errorf("channelRest(%q) = %q, want %q", in, got, want)
		}
	}
}
