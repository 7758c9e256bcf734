package cmd

import "strings"

// wsURL turns a server address given by a user into a uni_websocket URL:
// http(s) becomes ws(s), a missing scheme means ws, a missing path means
// /connection/uni_websocket.
func wsURL(s string) string {
	scheme, rest := withScheme(s, true)
	if !strings.Contains(rest, "/") {
		rest += "/connection/uni_websocket"
	}
	return scheme + "://" + rest
}

// apiBase turns a server address given for any command (http, https, ws,
// wss, with or without the endpoint path) into the API's base URL.
func apiBase(s string) string {
	scheme, rest := withScheme(s, false)
	host, _, _ := strings.Cut(rest, "/")
	return scheme + "://" + host
}

// withScheme splits an address and maps http, https, ws and wss (or no
// scheme, which means plain) onto the family wanted, WebSocket or HTTP,
// keeping TLS. Other schemes are kept, for the caller to refuse.
func withScheme(s string, ws bool) (scheme, rest string) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		scheme, rest = "", s
	}
	tls := scheme == "https" || scheme == "wss"
	if scheme != "" && scheme != "http" && scheme != "ws" && !tls {
		return scheme, rest
	}
	switch {
	case ws && tls:
		return "wss", rest
	case ws:
		return "ws", rest
	case tls:
		return "https", rest
	}
	return "http", rest
}
