package main

import (
	"bytes"
	"log"
	"net"
	"strconv"
	"sync"
)

// bufSize bounds a request head and body in gonet (the bench's are far
// smaller).
const bufSize = 8 << 10

type gonet struct {
	bufs sync.Pool
	push []byte

	mu   sync.Mutex
	subs []net.Conn
}

func runGonet(port int) {
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		log.Fatal(err)
	}
	listening(ln.Addr().String())
	g := &gonet{push: textFrame([]byte(connectPush))}
	g.bufs.New = func() any {
		b := make([]byte, bufSize)
		return &b
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go g.serve(c)
	}
}

// serve runs c's requests; an upgrade ends it with c kept open.
func (g *gonet) serve(c net.Conn) {
	bp := g.bufs.Get().(*[]byte)
	defer g.bufs.Put(bp)
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
		req := parseHead(b[:end])
		if end+4+req.length > len(b) {
			_ = c.Close()
			return
		}
		for w < end+4+req.length {
			n, err := c.Read(b[w:])
			if err != nil {
				_ = c.Close()
				return
			}
			w += n
		}
		switch {
		case req.key != nil:
			_, _ = c.Write(switching(req.key))
			if _, err := c.Read(b); err != nil { // the connect frame, in one piece
				_ = c.Close()
				return
			}
			_, _ = c.Write(g.push)
			g.mu.Lock()
			g.subs = append(g.subs, c)
			g.mu.Unlock()
			return
		case req.path == "/api/publish":
			f := publication(b[end+4 : end+4+req.length])
			_, _ = c.Write(reply(`{"result":{}}`))
			g.mu.Lock()
			live := g.subs[:0]
			for _, s := range g.subs {
				if _, err := s.Write(f); err != nil {
					_ = s.Close()
					continue
				}
				live = append(live, s)
			}
			clear(g.subs[len(live):])
			g.subs = live
			g.mu.Unlock()
		case req.path == "/api/info":
			g.mu.Lock()
			n := len(g.subs)
			g.mu.Unlock()
			_, _ = c.Write(info(n))
		default:
			_, _ = c.Write(reply(`{}`))
		}
		w = copy(b, b[end+4+req.length:w])
	}
}
