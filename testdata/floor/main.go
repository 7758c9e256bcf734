// Command floor is a measuring floor for BENCHMARKS.md, not a server: the
// least work that lets `uniws bench` connect, publish and receive, so that
// what any server must spend per connect and per delivery on this machine
// can be told apart from what uniws spends. Two modes give the same canned
// answers:
//
//   - raw: one thread, one epoll set, raw system calls, no garbage
//     collection (Linux only);
//   - gonet: Go's net package, a goroutine per handshake, pooled buffers,
//     no goroutine once a client is connected.
//
// Either takes an upgrade of any path and answers it with the computed
// Sec-WebSocket-Accept, answers the first frame with a canned connect push
// subscribed to "bench", writes each POST /api/publish's data to every
// connected client with one write each, and answers anything else with {}.
// It parses no more of a request than the path, the key and the body
// length, checks no token and keeps nothing of a connection but its
// descriptor. No checks, no limits: never expose it.
//
//	go build -o /tmp/floor ./testdata/floor
//	GOMAXPROCS=1 taskset -c 0 /tmp/floor raw 8300     # or: gonet 8301
//
// It prints the address it listens on (port 0 takes a free one).
package main

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"strconv"
)

const (
	acceptGUID  = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
	connectPush = `{"connect":{"client":"00000000-0000-0000-0000-000000000000","version":"0.0.0","subs":{"bench":{}},"ping":25,"pong":true}}`
)

func main() {
	if len(os.Args) != 3 || (os.Args[1] != "raw" && os.Args[1] != "gonet") {
		log.Fatal("usage: floor raw|gonet PORT")
	}
	port, err := strconv.Atoi(os.Args[2])
	if err != nil {
		log.Fatal(err)
	}
	if os.Args[1] == "raw" {
		runRaw(port)
	}
	runGonet(port)
}

func listening(addr string) { fmt.Printf("listening on %s\n", addr) }

// textFrame is an unmasked text frame carrying p.
func textFrame(p []byte) []byte {
	switch n := len(p); {
	case n < 126:
		return append([]byte{0x81, byte(n)}, p...)
	case n < 1<<16:
		return append(binary.BigEndian.AppendUint16([]byte{0x81, 126}, uint16(n)), p...)
	default:
		return append(binary.BigEndian.AppendUint64([]byte{0x81, 127}, uint64(n)), p...)
	}
}

func reply(body string) []byte {
	return []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n" + body)
}

// request is what the floor reads of a request head.
type request struct {
	path   string
	key    []byte // Sec-WebSocket-Key; nil when no upgrade
	length int    // Content-Length
}

func parseHead(head []byte) request {
	var r request
	if f := bytes.Fields(head); len(f) > 1 {
		r.path = string(f[1])
	}
	for _, line := range bytes.Split(head, []byte("\r\n"))[1:] {
		k, v, _ := bytes.Cut(line, []byte(":"))
		switch string(bytes.ToLower(bytes.TrimSpace(k))) {
		case "sec-websocket-key":
			r.key = bytes.TrimSpace(v)
		case "content-length":
			r.length, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
		}
	}
	return r
}

// switching is the 101 answer to an upgrade with key.
func switching(key []byte) []byte {
	sum := sha1.Sum(append(key[:len(key):len(key)], acceptGUID...))
	return []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		base64.StdEncoding.EncodeToString(sum[:]) + "\r\n\r\n")
}

// publication is the push frame for a publish request's body.
func publication(body []byte) []byte {
	var req struct{ Data json.RawMessage }
	_ = json.Unmarshal(body, &req)
	return textFrame([]byte(`{"push":{"channel":"bench","pub":{"data":` + string(req.Data) + `}}}`))
}

func info(clients int) []byte {
	return reply(`{"result":{"nodes":[{"num_clients":` + strconv.Itoa(clients) + `}]}}`)
}
