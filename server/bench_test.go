package server_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uniws/uniws/core"
	"github.com/uniws/uniws/server"
)

// benchServer runs a server for benchmarks and returns its address.
func benchServer(b *testing.B, extra string) (string, *server.Server) {
	b.Helper()
	cfgJSON := `{"token_hmac_secret_key":"secret","api_key":"k","client_queue_max_size":67108864` + extra + `}`
	cfg, err := core.ParseConfig("json", []byte(cfgJSON), nil)
	if err != nil {
		b.Fatal(err)
	}
	srv, err := server.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ctx, ln)
	}()
	b.Cleanup(func() {
		cancel()
		<-done
	})
	return ln.Addr().String(), srv
}

// rawClient is a minimal uni_websocket client: one TCP connection that
// sends the handshake and a connect request, then counts frames.
type rawClient struct {
	conn net.Conn
	br   *bufio.Reader
}

func dialRaw(addr, connect string) (*rawClient, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	req := "GET /connection/uni_websocket HTTP/1.1\r\nHost: " + addr +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := conn.Write([]byte(req)); err != nil {
		conn.Close()
		return nil, err
	}
	br := bufio.NewReaderSize(conn, 4096)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		conn.Close()
		return nil, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		conn.Close()
		return nil, fmt.Errorf("handshake: %s", resp.Status)
	}
	// A masked text frame with the connect request.
	payload := []byte(connect)
	frame := []byte{0x81, 0x80 | 126, byte(len(payload) >> 8), byte(len(payload)), 0, 0, 0, 0}
	frame = append(frame, payload...)
	if _, err := conn.Write(frame); err != nil {
		conn.Close()
		return nil, err
	}
	c := &rawClient{conn: conn, br: br}
	if _, err := c.readFrame(); err != nil { // the connect push
		conn.Close()
		return nil, err
	}
	return c, nil
}

// readFrame reads one server frame and returns its payload length.
func (c *rawClient) readFrame() (int, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(c.br, hdr[:]); err != nil {
		return 0, err
	}
	n := int(hdr[1] & 0x7f)
	switch n {
	case 126:
		var ext [2]byte
		if _, err := io.ReadFull(c.br, ext[:]); err != nil {
			return 0, err
		}
		n = int(ext[0])<<8 | int(ext[1])
	case 127:
		var ext [8]byte
		if _, err := io.ReadFull(c.br, ext[:]); err != nil {
			return 0, err
		}
		n = 0
		for _, b := range ext {
			n = n<<8 | int(b)
		}
	}
	_, err := c.br.Discard(n)
	return n, err
}

func connectRequest(b *testing.B, channel string) string {
	tok, err := core.SignHMAC("secret", core.TokenOptions{User: "bench", Channels: []string{channel}, TTL: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	return `{"token":"` + tok + `"}`
}

// BenchmarkBroadcast measures one publication fanned out to N sessions
// over loopback, from the API call to the last delivery. Clients and server
// share this process, whose open-file limit is 20,000 here: 9,000 sessions
// (18,000 sockets) is the largest that fits.
func BenchmarkBroadcast(b *testing.B) {
	for _, n := range []int{1000, 9000} {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			addr, _ := benchServer(b, "")
			req := connectRequest(b, "bench")
			clients := make([]*rawClient, n)
			for i := range clients {
				c, err := dialRaw(addr, req)
				if err != nil {
					b.Fatal(err)
				}
				clients[i] = c
			}
			var wg sync.WaitGroup
			received := make(chan int, n)
			for _, c := range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					count := 0
					for {
						if _, err := c.readFrame(); err != nil {
							received <- count
							return
						}
						count++
					}
				}()
			}
			client := &http.Client{}
			body := `{"channel":"bench","data":{"payload":"` + strings.Repeat("x", 100) + `"}}`
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				httpReq, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/api/publish", strings.NewReader(body))
				httpReq.Header.Set("X-API-Key", "k")
				resp, err := client.Do(httpReq)
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "deliveries/s")
			for _, c := range clients {
				c.conn.Close()
			}
			wg.Wait()
			client.CloseIdleConnections()
		})
	}
}

// BenchmarkConnect measures the connect path: handshake, token check,
// subscription and connect push.
func BenchmarkConnect(b *testing.B) {
	addr, _ := benchServer(b, "")
	req := connectRequest(b, "bench")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c, err := dialRaw(addr, req)
		if err != nil {
			b.Fatal(err)
		}
		c.conn.Close()
	}
}

// BenchmarkIdleSessionMemory reports the Go heap and stack bytes one idle
// connected session costs. Clients run in the same process; their known
// share (a 4 KiB read buffer and the connection, ~4.6 KB) is subtracted, so
// the figure is approximate: `uniws bench --pid` measures RSS exactly.
func BenchmarkIdleSessionMemory(b *testing.B) {
	const n = 2000
	addr, _ := benchServer(b, "")
	req := connectRequest(b, "bench")
	for i := 0; i < b.N; i++ {
		before, beforeStack := memUsed()
		clients := make([]*rawClient, n)
		for j := range clients {
			c, err := dialRaw(addr, req)
			if err != nil {
				b.Fatal(err)
			}
			clients[j] = c
		}
		after, afterStack := memUsed()
		clientBytes := 0
		for _, c := range clients {
			clientBytes += c.br.Size() + 500
		}
		b.ReportMetric(float64(int64(after)-int64(before)-int64(clientBytes))/n, "server-bytes/conn")
		b.ReportMetric(float64(int64(afterStack)-int64(beforeStack))/n, "stack-bytes/conn")
		for _, c := range clients {
			c.conn.Close()
		}
	}
}

// memUsed returns the Go heap and stack in use, and the stack alone.
func memUsed() (total, stack uint64) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse + ms.StackInuse, ms.StackInuse
}

// BenchmarkDiscardClientData: a connected client sends 60,000-byte data
// frames, which the server discards (a uni_websocket client has nothing to
// say after connect). One op is one frame; a Ping after the last frame and
// its Pong make sure every frame was consumed.
func BenchmarkDiscardClientData(b *testing.B) {
	addr, _ := benchServer(b, "")
	c, err := dialRaw(addr, connectRequest(b, "bench"))
	if err != nil {
		b.Fatal(err)
	}
	defer c.conn.Close()
	key := [4]byte{1, 2, 3, 4}
	frame := maskedFrame(0x82, make([]byte, 60000), key)
	b.SetBytes(int64(len(frame)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.conn.Write(frame); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := c.conn.Write(maskedFrame(0x89, []byte("end"), key)); err != nil {
		b.Fatal(err)
	}
	_ = c.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		var h [2]byte
		if _, err := io.ReadFull(c.br, h[:]); err != nil {
			b.Fatal(err)
		}
		n := int(h[1] & 0x7f)
		if n == 126 {
			var l [2]byte
			if _, err := io.ReadFull(c.br, l[:]); err != nil {
				b.Fatal(err)
			}
			n = int(l[0])<<8 | int(l[1])
		}
		if _, err := c.br.Discard(n); err != nil {
			b.Fatal(err)
		}
		if h[0]&0x0f == 0xA {
			return
		}
	}
}
