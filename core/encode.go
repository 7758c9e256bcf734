package core

import (
	"bytes"
	"errors"
	"sort"
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends the push's wire encoding to b and returns the result.
// Field order, omission of empty fields and raw payload handling follow
// PROTOCOL.md §2. It allocates nothing beyond growing b.
func (p *Push) AppendJSON(b []byte) []byte {
	b = append(b, '{')
	first := true
	field := func(name string) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, '"', ':')
	}
	if p.Channel != "" {
		field("channel")
		b = appendString(b, p.Channel)
	}
	if p.Pub != nil {
		field("pub")
		b = appendPublication(b, p.Pub)
	}
	if p.Join != nil {
		field("join")
		b = appendInfoHolder(b, &p.Join.Info)
	}
	if p.Leave != nil {
		field("leave")
		b = appendInfoHolder(b, &p.Leave.Info)
	}
	if p.Unsubscribe != nil {
		field("unsubscribe")
		b = appendCodeReason(b, p.Unsubscribe.Code, p.Unsubscribe.Reason, true)
	}
	if p.Message != nil {
		field("message")
		o := objectWriter{b: b}
		o.raw("data", p.Message.Data)
		b = o.close()
	}
	if p.Subscribe != nil {
		field("subscribe")
		b = appendSubscribe(b, p.Subscribe)
	}
	if p.Connect != nil {
		field("connect")
		b = appendConnect(b, p.Connect)
	}
	if p.Disconnect != nil {
		field("disconnect")
		b = appendCodeReason(b, p.Disconnect.Code, p.Disconnect.Reason, false)
	}
	if p.Refresh != nil {
		field("refresh")
		o := objectWriter{b: b}
		o.boolean("expires", p.Refresh.Expires)
		o.uint("ttl", uint64(p.Refresh.TTL))
		b = o.close()
	}
	return append(b, '}')
}

// objectWriter writes one JSON object, leaving out empty fields.
type objectWriter struct {
	b       []byte
	started bool
}

func (o *objectWriter) key(name string) {
	if !o.started {
		o.b = append(o.b, '{')
		o.started = true
	} else {
		o.b = append(o.b, ',')
	}
	o.b = append(o.b, '"')
	o.b = append(o.b, name...)
	o.b = append(o.b, '"', ':')
}

func (o *objectWriter) str(name, v string) {
	if v != "" {
		o.key(name)
		o.b = appendString(o.b, v)
	}
}

func (o *objectWriter) uint(name string, v uint64) {
	if v != 0 {
		o.key(name)
		o.b = strconv.AppendUint(o.b, v, 10)
	}
}

func (o *objectWriter) boolean(name string, v bool) {
	if v {
		o.key(name)
		o.b = append(o.b, "true"...)
	}
}

func (o *objectWriter) raw(name string, v []byte) {
	if len(v) != 0 {
		o.key(name)
		o.b = appendRaw(o.b, v)
	}
}

func (o *objectWriter) close() []byte {
	if !o.started {
		return append(o.b, '{', '}')
	}
	return append(o.b, '}')
}

func appendPublication(b []byte, p *Publication) []byte {
	o := objectWriter{b: b}
	o.raw("data", p.Data)
	if p.Info != nil {
		o.key("info")
		o.b = appendClientInfo(o.b, p.Info)
	}
	o.uint("offset", p.Offset)
	if len(p.Tags) != 0 {
		o.key("tags")
		o.b = appendStringMap(o.b, p.Tags)
	}
	o.str("epoch", p.Epoch)
	return o.close()
}

func appendClientInfo(b []byte, ci *ClientInfo) []byte {
	b = append(b, `{"user":`...)
	b = appendString(b, ci.User)
	b = append(b, `,"client":`...)
	b = appendString(b, ci.Client)
	if len(ci.ConnInfo) != 0 {
		b = append(b, `,"conn_info":`...)
		b = appendRaw(b, ci.ConnInfo)
	}
	if len(ci.ChanInfo) != 0 {
		b = append(b, `,"chan_info":`...)
		b = appendRaw(b, ci.ChanInfo)
	}
	return append(b, '}')
}

func appendInfoHolder(b []byte, ci *ClientInfo) []byte {
	b = append(b, `{"info":`...)
	b = appendClientInfo(b, ci)
	return append(b, '}')
}

func appendCodeReason(b []byte, code uint32, reason string, omitEmpty bool) []byte {
	if omitEmpty {
		o := objectWriter{b: b}
		o.uint("code", uint64(code))
		o.str("reason", reason)
		return o.close()
	}
	b = append(b, `{"code":`...)
	b = strconv.AppendUint(b, uint64(code), 10)
	b = append(b, `,"reason":`...)
	b = appendString(b, reason)
	return append(b, '}')
}

func appendSubscribe(b []byte, s *Subscribe) []byte {
	o := objectWriter{b: b}
	o.boolean("recoverable", s.Recoverable)
	o.str("epoch", s.Epoch)
	o.uint("offset", s.Offset)
	o.boolean("positioned", s.Positioned)
	o.raw("data", s.Data)
	return o.close()
}

func appendSubscribeResult(b []byte, r *SubscribeResult) []byte {
	o := objectWriter{b: b}
	o.boolean("expires", r.Expires)
	o.uint("ttl", uint64(r.TTL))
	o.boolean("recoverable", r.Recoverable)
	o.str("epoch", r.Epoch)
	if len(r.Publications) != 0 {
		o.key("publications")
		o.b = append(o.b, '[')
		for i, p := range r.Publications {
			if i > 0 {
				o.b = append(o.b, ',')
			}
			o.b = appendPublication(o.b, p)
		}
		o.b = append(o.b, ']')
	}
	o.boolean("recovered", r.Recovered)
	o.uint("offset", r.Offset)
	o.boolean("positioned", r.Positioned)
	o.raw("data", r.Data)
	o.boolean("was_recovering", r.WasRecovering)
	return o.close()
}

func appendConnect(b []byte, c *Connect) []byte {
	o := objectWriter{b: b}
	o.str("client", c.Client)
	o.str("version", c.Version)
	o.raw("data", c.Data)
	if len(c.Subs) != 0 {
		o.key("subs")
		names := make([]string, 0, len(c.Subs))
		for name := range c.Subs {
			names = append(names, name)
		}
		sort.Strings(names)
		o.b = append(o.b, '{')
		for i, name := range names {
			if i > 0 {
				o.b = append(o.b, ',')
			}
			o.b = appendString(o.b, name)
			o.b = append(o.b, ':')
			r := c.Subs[name]
			if r == nil {
				r = &SubscribeResult{}
			}
			o.b = appendSubscribeResult(o.b, r)
		}
		o.b = append(o.b, '}')
	}
	o.boolean("expires", c.Expires)
	o.uint("ttl", uint64(c.TTL))
	o.uint("ping", uint64(c.Ping))
	o.str("session", c.Session)
	return o.close()
}

func appendStringMap(b []byte, m map[string]string) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = appendString(b, m[k])
	}
	return append(b, '}')
}

// appendRaw embeds a raw JSON value byte for byte, dropping newline bytes so
// that `\n` can delimit joined pushes.
func appendRaw(b, raw []byte) []byte {
	for {
		i := bytes.IndexByte(raw, '\n')
		if i < 0 {
			return append(b, raw...)
		}
		b = append(b, raw[:i]...)
		raw = raw[i+1:]
	}
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string escaped the way encoding/json
// escapes it (HTML-safe, invalid UTF-8 replaced, U+2028/U+2029 escaped).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// ErrEmptyConnect is returned for an empty connect frame.
var errEmptyConnect = errors.New("empty connect request")

// DecodeConnectRequest parses the one command a unidirectional client sends.
// The literal null counts as {}; unknown fields are ignored; a null value in
// subs counts as {}. An empty frame or invalid JSON is an error.
func DecodeConnectRequest(b []byte) (*ConnectRequest, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, errEmptyConnect
	}
	var req ConnectRequest
	if err := decodeConnect(b, &req); err != nil {
		return nil, err
	}
	for ch, sr := range req.Subs {
		if sr == nil {
			req.Subs[ch] = &SubscribeRequest{}
		}
	}
	return &req, nil
}
