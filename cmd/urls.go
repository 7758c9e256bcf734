package cmd

import "strings"

// endpointPath is where a server serves uni_websocket.
const endpointPath = "/connection/uni_websocket"

// wsURL turns a server address given by a user into a uni_websocket URL:
// http(s) becomes ws(s), a missing scheme means ws, a missing or root path
// means /connection/uni_websocket. A query is kept.
func wsURL(s string) string {
	scheme, rest := withScheme(s, true)
	host, path, tail := splitAddress(rest)
	if path == "" || path == "/" || path == endpointPath+"/" {
		path = endpointPath
	}
	return scheme + "://" + host + path + tail
}

// apiBase turns a server address given for any command (http, https, ws,
// wss, with or without the endpoint path) into the API's base URL: the
// scheme's HTTP family, the host, and a path prefix a proxy may put the
// server under (the endpoint path, a query and a trailing slash dropped).
func apiBase(s string) string {
	scheme, rest := withScheme(s, false)
	host, path, _ := splitAddress(rest)
	path = strings.TrimSuffix(strings.TrimRight(path, "/"), endpointPath)
	return scheme + "://" + host + strings.TrimRight(path, "/")
}

// splitAddress splits what follows a URL's "://" into the host, the path
// and the rest (query and fragment, with their leading ? or #).
func splitAddress(rest string) (host, path, tail string) {
	host = rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		host, rest = rest[:i], rest[i:]
	} else {
		rest = ""
	}
	path = rest
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		path, tail = rest[:i], rest[i:]
	}
	return host, path, tail
}

// withScheme splits an address and maps http, https, ws and wss (or no
// scheme, which means plain) onto the family wanted, WebSocket or HTTP,
// keeping TLS. Other schemes are kept, for the caller to refuse.
func withScheme(s string, ws bool) (scheme, rest string) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		scheme, rest = "", s
	}
	scheme = strings.ToLower(scheme)
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
