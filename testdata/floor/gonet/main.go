// Command gonet is the second measuring floor for BENCHMARKS.md, not a
// server: raw's canned replies (see ../raw) served the usual Go way, through
// the net package and a goroutine per connection for its handshake, with
// pooled buffers and no goroutine once a client is connected. Between raw
// and uniws it shows what Go's network poller and scheduler cost per connect
// and per delivery, before any parsing or checks. No checks, no limits:
// never expose it.
//
//	go build -o /tmp/floor-gonet ./testdata/floor/gonet
//	GOMAXPROCS=1 taskset -c 0 /tmp/floor-gonet 8301
//
// It prints the address it listens on (port 0 takes a free one).
package main

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"os"
	"strconv"
	"sync"
)

const (
	acceptGUID  = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
	connectPush = `{"connect":{"client":"00000000-0000-0000-0000-000000000000","version":"0.0.0","subs":{"bench":{}},"ping":25,"pong":true}}`
	bufSize     = 8 << 10
)

func textFrame(p []byte) []byte {
	if len(p) < 126 {
		return append([]byte{0x81, byte(len(p))}, p...)
	}
	return append([]byte{0x81, 126, byte(len(p) >> 8), byte(len(p))}, p...)
}

func reply(body string) []byte {
	return []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n" + body)
}

type floor struct {
	bufs sync.Pool
	push []byte

	mu   sync.Mutex
	subs []net.Conn
}

// serve runs c's requests; an upgrade ends it with c kept open.
func (f *floor) serve(c net.Conn) {
	bp := f.bufs.Get().(*[]byte)
	defer f.bufs.Put(bp)
	b := *bp
	w := 0
	for {
		end := bytes.Index(b[:w], []byte("\r\n\r\n"))
		for end < 0 {
			n, err := c.Read(b[w:])
			if err != nil || w+n == len(b) {
				_ = c.Close()
				return
			}
			w += n
			end = bytes.Index(b[:w], []byte("\r\n\r\n"))
		}
		head := b[:end]
		var key []byte
		length := 0
		for _, line := range bytes.Split(head, []byte("\r\n"))[1:] {
			k, v, _ := bytes.Cut(line, []byte(":"))
			switch string(bytes.ToLower(bytes.TrimSpace(k))) {
			case "sec-websocket-key":
				key = bytes.TrimSpace(v)
			case "content-length":
				length, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
			}
		}
		if end+4+length > len(b) {
			_ = c.Close()
			return
		}
		for w < end+4+length {
			n, err := c.Read(b[w:])
			if err != nil {
				_ = c.Close()
				return
			}
			w += n
		}
		if key != nil {
			sum := sha1.Sum(append(key[:len(key):len(key)], acceptGUID...))
			_, _ = c.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
				base64.StdEncoding.EncodeToString(sum[:]) + "\r\n\r\n"))
			if _, err := c.Read(b); err != nil { // the connect frame, in one piece
				_ = c.Close()
				return
			}
			_, _ = c.Write(f.push)
			f.mu.Lock()
			f.subs = append(f.subs, c)
			f.mu.Unlock()
			return
		}
		var path []byte
		if fs := bytes.Fields(head); len(fs) > 1 {
			path = fs[1]
		}
		switch string(path) {
		case "/api/publish":
			var req struct{ Data json.RawMessage }
			_ = json.Unmarshal(b[end+4:end+4+length], &req)
			frame := textFrame([]byte(`{"push":{"channel":"bench","pub":{"data":` + string(req.Data) + `}}}`))
			_, _ = c.Write(reply(`{"result":{}}`))
			f.mu.Lock()
			for _, s := range f.subs {
				_, _ = s.Write(frame)
			}
			f.mu.Unlock()
		case "/api/info":
			f.mu.Lock()
			n := len(f.subs)
			f.mu.Unlock()
			_, _ = c.Write(reply(`{"result":{"nodes":[{"num_clients":` + strconv.Itoa(n) + `}]}}`))
		default:
			_, _ = c.Write(reply(`{}`))
		}
		w = copy(b, b[end+4+length:w])
	}
}

func main() {
	if len(os.Args) != 2 {
		log.Fatal("usage: gonet PORT")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	f := &floor{push: textFrame([]byte(connectPush))}
	f.bufs.New = func() any {
		b := make([]byte, bufSize)
		return &b
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go f.serve(c)
	}
}
