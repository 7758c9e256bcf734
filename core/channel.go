package core

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Channel-name syntax (PROTOCOL.md §6).
const (
	PrivatePrefix      = "$"
	NamespaceBoundary  = ":"
	UserBoundary       = "#"
	UserSeparator      = ","
	MaxChannelLength   = 255
	namespaceNameRegex = `^[-a-zA-Z0-9_.]{2,}$`
)

// ChannelName is a channel name taken apart.
type ChannelName struct {
	Name      string
	Private   bool     // starts with "$"
	Namespace string   // the part before ":" ("" for none)
	Users     []string // the users after "#" in a user-limited channel
	Limited   bool     // has a "#" user boundary
}

// ErrChannelName is wrapped by every channel-name error.
var errChannelName = errors.New("invalid channel name")

// IsChannelNameError reports whether err came from ParseChannel.
func IsChannelNameError(err error) bool { return errors.Is(err, errChannelName) }

// ParseChannel splits a channel name into its parts and checks that it is
// usable at all: not empty, at most maxLen bytes (MaxChannelLength when 0),
// valid UTF-8 with no control characters.
func ParseChannel(name string, maxLen int) (ChannelName, error) {
	if maxLen <= 0 {
		maxLen = MaxChannelLength
	}
	if name == "" {
		return ChannelName{}, fmt.Errorf("%w: empty", errChannelName)
	}
	if len(name) > maxLen {
		return ChannelName{}, fmt.Errorf("%w: longer than %d bytes", errChannelName, maxLen)
	}
	if !utf8.ValidString(name) {
		return ChannelName{}, fmt.Errorf("%w: not valid UTF-8", errChannelName)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return ChannelName{}, fmt.Errorf("%w: control character", errChannelName)
		}
	}
	c := ChannelName{Name: name}
	rest := name
	if strings.HasPrefix(rest, PrivatePrefix) {
		c.Private = true
		rest = rest[len(PrivatePrefix):]
	}
	if i := strings.Index(rest, NamespaceBoundary); i >= 0 {
		c.Namespace = rest[:i]
		rest = rest[i+len(NamespaceBoundary):]
	}
	if i := strings.LastIndex(rest, UserBoundary); i >= 0 {
		c.Limited = true
		users := rest[i+len(UserBoundary):]
		if users != "" {
			c.Users = strings.Split(users, UserSeparator)
		}
	}
	return c, nil
}

// AllowsUser reports whether user is one of the channel's limited users.
func (c ChannelName) AllowsUser(user string) bool {
	if user == "" {
		return false
	}
	for _, u := range c.Users {
		if u == user {
			return true
		}
	}
	return false
}

// PersonalChannel is the channel a user is subscribed to when
// user_subscribe_to_personal is on: "#user", or "ns:#user".
func PersonalChannel(namespace, user string) string {
	if namespace == "" {
		return UserBoundary + user
	}
	return namespace + NamespaceBoundary + UserBoundary + user
}

var namespaceNameRe = regexp.MustCompile(namespaceNameRegex)

// ValidNamespaceName reports whether s is a valid namespace name.
func ValidNamespaceName(s string) bool { return namespaceNameRe.MatchString(s) }

// Refusal says why a client's requested channel was not granted.
type Refusal string

// Reasons a requested channel is refused.
const (
	RefusedPrivate        Refusal = "private channel"
	RefusedRegex          Refusal = "does not match channel_regex"
	RefusedNotPermitted   Refusal = "namespace does not allow client subscriptions"
	RefusedAnonymous      Refusal = "anonymous subscriptions not allowed"
	RefusedUserNotAllowed Refusal = "user not in the channel's user list"
	RefusedInvalid        Refusal = "invalid channel name"
	RefusedNonASCII       Refusal = "non-ASCII channel name (allowed only with channel_regex)"
)

// ErrUnknownNamespace is returned for a channel whose namespace is not
// configured.
var ErrUnknownNamespace = errors.New("unknown namespace")

// ClientSubscribeAllowed decides whether a client-requested channel may be
// granted to user (PROTOCOL.md §6), as Centrifugo v6 decides it. It returns
// ErrUnknownNamespace (wrapped) when the namespace is not configured, and
// otherwise a non-empty Refusal when the channel is refused.
//
// channel_regex is matched against the name after "ns:" (the whole name for
// channels without a namespace); without channel_regex, non-ASCII names are
// refused. A user-limited channel whose list lacks the user is still granted
// when the namespace allows client subscriptions.
func (c *Config) ClientSubscribeAllowed(user, channel string) (Refusal, error) {
	name, err := ParseChannel(channel, c.ChannelMaxLength)
	if err != nil {
		return RefusedInvalid, nil
	}
	opts, ok := c.NamespaceOptions(name.Namespace)
	if !ok {
		return "", fmt.Errorf("%w %q in channel %q", ErrUnknownNamespace, name.Namespace, channel)
	}
	if name.Private {
		return RefusedPrivate, nil
	}
	if opts.ChannelRegex != "" {
		re := opts.channelRegexp
		if re == nil {
			// Not validated: compile here rather than skip the check.
			if re, err = regexp.Compile(opts.ChannelRegex); err != nil {
				return RefusedRegex, nil
			}
		}
		if !re.MatchString(channelRest(channel)) {
			return RefusedRegex, nil
		}
	} else if !isASCII(channel) {
		return RefusedNonASCII, nil
	}
	if name.Limited && opts.AllowUserLimitedChannels && name.AllowsUser(user) {
		return "", nil
	}
	if opts.AllowSubscribeForClient && (user != "" || opts.AllowSubscribeForAnonymous) {
		return "", nil
	}
	switch {
	case name.Limited && opts.AllowUserLimitedChannels:
		return RefusedUserNotAllowed, nil
	case !opts.AllowSubscribeForClient:
		return RefusedNotPermitted, nil
	}
	return RefusedAnonymous, nil
}

// channelRest is the part of a channel name that channel_regex sees: what
// follows the first ":" (after any private prefix), or the whole name when
// there is no ":".
func channelRest(channel string) string {
	if _, rest, ok := strings.Cut(strings.TrimPrefix(channel, PrivatePrefix), NamespaceBoundary); ok {
		return rest
	}
	return channel
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// NamespaceOptions returns the options for a namespace ("" for channels
// without one) and whether that namespace exists.
func (c *Config) NamespaceOptions(namespace string) (ChannelOptions, bool) {
	if namespace == "" {
		return c.ChannelOptions, true
	}
	for i := range c.Namespaces {
		if c.Namespaces[i].Name == namespace {
			return c.Namespaces[i].ChannelOptions, true
		}
	}
	return ChannelOptions{}, false
}

// ChannelOptionsFor returns the options that apply to a channel and whether
// its namespace exists.
func (c *Config) ChannelOptionsFor(channel string) (ChannelOptions, bool) {
	name, err := ParseChannel(channel, c.ChannelMaxLength)
	if err != nil {
		return ChannelOptions{}, false
	}
	return c.NamespaceOptions(name.Namespace)
}
