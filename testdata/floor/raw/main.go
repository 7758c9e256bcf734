// Command raw is a measuring floor for BENCHMARKS.md, not a server: the
// least work that lets `uniws bench` connect, publish and receive, so that
// what the kernel costs per connect and per delivery on this machine can be
// told apart from what a server does. One thread, one epoll set, raw system
// calls, no garbage collection. It takes an upgrade of any path, answers any
// first frame with a canned connect push subscribed to "bench", writes each
// POST /api/publish's data to every connection with one write(2) each, and
// answers anything else with {}. No checks, no limits: never expose it.
//
//	go build -o /tmp/floor-raw ./testdata/floor/raw
//	GOMAXPROCS=1 taskset -c 0 /tmp/floor-raw 8300
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
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"syscall"
	"unsafe"
)

const (
	acceptGUID  = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
	connectPush = `{"connect":{"client":"00000000-0000-0000-0000-000000000000","version":"0.0.0","subs":{"bench":{}},"ping":25,"pong":true}}`
)

type state int

const (
	readingHTTP state = iota
	waitingConnect
	connected
)

type conn struct {
	st  state
	buf []byte
}

// write writes b whole, or drops the rest when the socket is full (which
// the rates this is run at never make it).
func write(fd int, b []byte) {
	for len(b) > 0 {
		n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			return
		}
		b = b[n:]
	}
}

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

func main() {
	if len(os.Args) != 2 {
		log.Fatal("usage: raw PORT")
	}
	port, err := strconv.Atoi(os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	runtime.LockOSThread()
	debug.SetGCPercent(-1)
	lfd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		log.Fatal(err)
	}
	if err := syscall.SetsockoptInt(lfd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1); err != nil {
		log.Fatal(err)
	}
	if err := syscall.Bind(lfd, &syscall.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		log.Fatal(err)
	}
	if err := syscall.Listen(lfd, 4096); err != nil {
		log.Fatal(err)
	}
	sa, err := syscall.Getsockname(lfd)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on 127.0.0.1:%d\n", sa.(*syscall.SockaddrInet4).Port)
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		log.Fatal(err)
	}
	watch := func(fd int) {
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(fd)}
		if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
			log.Fatal(err)
		}
	}
	watch(lfd)

	conns := map[int]*conn{}
	var subs []int
	pushFrame := textFrame([]byte(connectPush))
	events := make([]syscall.EpollEvent, 256)
	rbuf := make([]byte, 64<<10)
	for {
		n, _, e := syscall.RawSyscall6(syscall.SYS_EPOLL_WAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), ^uintptr(0), 0, 0)
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			log.Fatal(e)
		}
		for _, ev := range events[:n] {
			fd := int(ev.Fd)
			if fd == lfd {
				for {
					nfd, _, e := syscall.RawSyscall6(syscall.SYS_ACCEPT4, uintptr(lfd), 0, 0, syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0, 0)
					if e != 0 {
						break
					}
					conns[int(nfd)] = &conn{}
					watch(int(nfd))
				}
				continue
			}
			c := conns[fd]
			r, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&rbuf[0])), uintptr(len(rbuf)))
			if e == syscall.EAGAIN || e == syscall.EINTR {
				continue
			}
			if e != 0 || r == 0 {
				_ = syscall.Close(fd)
				delete(conns, fd)
				if c.st == connected {
					for j, s := range subs {
						if s == fd {
							subs[j] = subs[len(subs)-1]
							subs = subs[:len(subs)-1]
							break
						}
					}
				}
				continue
			}
			switch c.st {
			case connected:
				// Pongs and the like: dropped.
			case waitingConnect:
				// The bench's connect frame arrives in one piece.
				write(fd, pushFrame)
				c.st = connected
				c.buf = nil
				subs = append(subs, fd)
			case readingHTTP:
				c.buf = append(c.buf, rbuf[:r]...)
				for c.st == readingHTTP {
					end := bytes.Index(c.buf, []byte("\r\n\r\n"))
					if end < 0 {
						break
					}
					head := c.buf[:end]
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
					if len(c.buf) < end+4+length {
						break
					}
					body := c.buf[end+4 : end+4+length]
					var path []byte
					if f := bytes.Fields(head); len(f) > 1 {
						path = f[1]
					}
					switch {
					case key != nil:
						sum := sha1.Sum(append(key, acceptGUID...))
						write(fd, []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "+
							base64.StdEncoding.EncodeToString(sum[:])+"\r\n\r\n"))
						c.st = waitingConnect
					case string(path) == "/api/publish":
						var req struct{ Data json.RawMessage }
						_ = json.Unmarshal(body, &req)
						f := textFrame([]byte(`{"push":{"channel":"bench","pub":{"data":` + string(req.Data) + `}}}`))
						write(fd, reply(`{"result":{}}`))
						for _, s := range subs {
							write(s, f)
						}
					case string(path) == "/api/info":
						write(fd, reply(`{"result":{"nodes":[{"num_clients":`+strconv.Itoa(len(subs))+`}]}}`))
					default:
						write(fd, reply(`{}`))
					}
					c.buf = append(c.buf[:0], c.buf[end+4+length:]...)
				}
			}
		}
	}
}
