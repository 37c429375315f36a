package engineio

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corvid-io/corvid/internal/testutil"
)

// rawPoller is a polling client over two raw keep-alive TCP connections (one
// for GETs, one for POSTs), with hand-written requests, so that the client's
// own cost stays small beside the server's in a benchmark.
type rawPoller struct {
	get, post   net.Conn
	getR, postR *bufio.Reader
	getReq      []byte // the whole GET request
	postHead    string // the POST request up to the Content-Length value
	postBuf     []byte
	res         rawResponse
	zsrc        bytes.Reader
	zr          *gzip.Reader
	plain       bytes.Buffer
}

// rawResponse is the part of an HTTP response the benchmarks look at.
type rawResponse struct {
	status  int
	length  int // Content-Length, -1 when absent
	chunked bool
	gzip    bool
	body    []byte
}

func dialRawPoller(t testing.TB, host, path string, gzipped bool) *rawPoller {
	t.Helper()
	p := &rawPoller{}
	var err error
	if p.get, err = net.Dial("tcp", host); err != nil {
		t.Fatal(err)
	}
	if p.post, err = net.Dial("tcp", host); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.get.Close(); p.post.Close() })
	p.getR = bufio.NewReaderSize(p.get, 16<<10)
	p.postR = bufio.NewReaderSize(p.post, 4<<10)
	enc := ""
	if gzipped {
		enc = "Accept-Encoding: gzip\r\n"
	}
	hs := "GET " + path + "?EIO=4&transport=polling HTTP/1.1\r\nHost: " + host + "\r\n" + enc + "\r\n"
	if _, err := io.WriteString(p.get, hs); err != nil {
		t.Fatal(err)
	}
	if err := readRawResponse(p.getR, &p.res); err != nil || p.res.status != 200 || !bytes.HasPrefix(p.res.body, []byte("0{")) {
		t.Fatalf("handshake: %d %q %v", p.res.status, p.res.body, err)
	}
	var open struct{ Sid string }
	if err := json.Unmarshal(p.res.body[1:], &open); err != nil {
		t.Fatal(err)
	}
	q := path + "?EIO=4&transport=polling&sid=" + url.QueryEscape(open.Sid)
	p.getReq = []byte("GET " + q + " HTTP/1.1\r\nHost: " + host + "\r\n" + enc + "\r\n")
	p.postHead = "POST " + q + " HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: "
	return p
}

// roundTrip sends a GET (held by the server), then a POST of payload, reads the
// POST's answer and then the GET's, and returns the GET's body (decompressed).
func (p *rawPoller) roundTrip(payload []byte) ([]byte, error) {
	if _, err := p.get.Write(p.getReq); err != nil {
		return nil, err
	}
	p.postBuf = append(p.postBuf[:0], p.postHead...)
	p.postBuf = strconv.AppendInt(p.postBuf, int64(len(payload)), 10)
	p.postBuf = append(p.postBuf, "\r\n\r\n"...)
	p.postBuf = append(p.postBuf, payload...)
	if _, err := p.post.Write(p.postBuf); err != nil {
		return nil, err
	}
	if err := readRawResponse(p.postR, &p.res); err != nil {
		return nil, err
	}
	if p.res.status != 200 || string(p.res.body) != "ok" {
		return nil, errors.New("POST answered " + strconv.Itoa(p.res.status) + " " + string(p.res.body))
	}
	return p.readGet()
}

// readRawResponse reads one response (Content-Length or chunked body) into res,
// reusing res.body.
func readRawResponse(br *bufio.Reader, res *rawResponse) error {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return errors.New("bad status line " + strconv.Quote(string(line)))
	}
	res.status, _ = strconv.Atoi(string(line[9:12]))
	res.length, res.chunked, res.gzip = -1, false, false
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 {
			break
		}
		k, v, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(":"))
		v = bytes.TrimSpace(v)
		switch {
		case bytes.EqualFold(k, []byte("Content-Length")):
			res.length, _ = strconv.Atoi(string(v))
		case bytes.EqualFold(k, []byte("Transfer-Encoding")):
			res.chunked = bytes.EqualFold(v, []byte("chunked"))
		case bytes.EqualFold(k, []byte("Content-Encoding")):
			res.gzip = bytes.EqualFold(v, []byte("gzip"))
		}
	}
	res.body = res.body[:0]
	if !res.chunked {
		if res.length < 0 {
			return errors.New("response without length")
		}
		res.body = append(res.body, make([]byte, res.length)...)
		_, err = io.ReadFull(br, res.body)
		return err
	}
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return err
		}
		n, err := strconv.ParseInt(string(bytes.TrimRight(line, "\r\n")), 16, 64)
		if err != nil {
			return err
		}
		start := len(res.body)
		res.body = append(res.body, make([]byte, n+2)...)
		if _, err := io.ReadFull(br, res.body[start:]); err != nil {
			return err
		}
		res.body = res.body[:start+int(n)]
		if n == 0 {
			return nil
		}
	}
}

// pollBenchPayload returns a payload of n message packets of about size bytes.
func pollBenchPayload(n, size int) []byte {
	p := Packet{Type: PacketMessage, Data: []byte(`2["echo",{"n":1,"s":"` + strings.Repeat("x", max(0, size-21)) + `"}]`)}
	ps := make([]Packet, n)
	for i := range ps {
		ps[i] = p
	}
	return AppendPayload(nil, ps)
}

// stEchoTimes returns a handler that answers each message with n copies of it,
// queued by one Send (so that one poll takes them all).
func stEchoTimes(n int) func(*Session) {
	return func(s *Session) {
		msgs := make([]Message, n)
		for {
			m, err := s.Read(s.Context())
			if err != nil {
				return
			}
			for i := range msgs {
				msgs[i] = m
			}
			if s.Send(msgs...) != nil {
				return
			}
		}
	}
}

// BenchmarkPollingEcho drives the polling transport over loopback HTTP/1.1 with
// keep-alive, 4*GOMAXPROCS clients at a time: each op is one client's closed
// loop of a held GET, a POST of one 100-byte message, the POST's "ok" and the
// GET's answer (two requests). In "small" the handler echoes the message; in
// "gzip" it answers with 16 copies (one batch of about 1.7 KB) to a client
// that accepts gzip, so the answer is compressed.
func BenchmarkPollingEcho(b *testing.B) {
	msg := pollBenchPayload(1, 100)
	for _, bc := range []struct {
		name   string
		copies int
		gzip   bool
	}{
		{"small", 1, false},
		{"gzip", 16, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			want := pollBenchPayload(bc.copies, 100)
			d := stStart(b, stEchoTimes(bc.copies), &ServerOptions{PingInterval: time.Hour, PingTimeout: time.Hour})
			u, _ := url.Parse(d.hs.URL)
			const parallelism = 4
			n := parallelism * runtime.GOMAXPROCS(0)
			pollers := make(chan *rawPoller, n)
			for range n {
				pollers <- dialRawPoller(b, u.Host, d.srv.opts.Path, bc.gzip)
			}
			b.SetParallelism(parallelism)
			b.ReportAllocs()
			var failed atomic.Value
			cpu0 := testutil.ProcessCPU()
			b.RunParallel(func(pb *testing.PB) {
				p := <-pollers
				for pb.Next() {
					body, err := p.roundTrip(msg)
					if err == nil && !bytes.Equal(body, want) {
						err = errors.New("echo " + strconv.Quote(string(body)))
					}
					if err != nil {
						failed.CompareAndSwap(nil, err)
						return
					}
				}
			})
			b.ReportMetric(float64(testutil.ProcessCPU()-cpu0)/float64(b.N), "cpu-ns/op")
			if err, _ := failed.Load().(error); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// pollGet sends a GET and returns its body (decompressed).
func (p *rawPoller) pollGet() ([]byte, error) {
	if _, err := p.get.Write(p.getReq); err != nil {
		return nil, err
	}
	return p.readGet()
}

// readGet reads the answer to a GET and returns its body (decompressed).
func (p *rawPoller) readGet() ([]byte, error) {
	if err := readRawResponse(p.getR, &p.res); err != nil {
		return nil, err
	}
	if p.res.status != 200 {
		return nil, errors.New("GET answered " + strconv.Itoa(p.res.status))
	}
	if !p.res.gzip {
		return p.res.body, nil
	}
	p.zsrc.Reset(p.res.body)
	if p.zr == nil {
		zr, err := gzip.NewReader(&p.zsrc)
		if err != nil {
			return nil, err
		}
		p.zr = zr
	} else if err := p.zr.Reset(&p.zsrc); err != nil {
		return nil, err
	}
	p.plain.Reset()
	if _, err := p.plain.ReadFrom(p.zr); err != nil {
		return nil, err
	}
	return p.plain.Bytes(), nil
}

// BenchmarkPollingFanout measures broadcasts to 64 polling clients that accept
// gzip, each polling in a loop, with up to 32 broadcasts in flight (as the
// harness's polling-fanout): one op is one ~100-byte message sent to every
// session; cpu-ns/delivery is the process's CPU per message delivered.
func BenchmarkPollingFanout(b *testing.B) {
	const clients, window = 64, 32
	sessions, handler := newSTSessions(nil)
	d := stStart(b, handler, &ServerOptions{PingInterval: time.Hour, PingTimeout: time.Hour})
	u, _ := url.Parse(d.hs.URL)
	ss := make([]*Session, clients)
	ps := make([]*rawPoller, clients)
	for i := range ps {
		ps[i] = dialRawPoller(b, u.Host, d.srv.opts.Path, true)
		ss[i] = sessions.next(b)
	}
	var (
		mu       sync.Mutex
		cond     = sync.NewCond(&mu)
		received = make([]int, clients)
		failed   error
	)
	low := func() int { // fewest messages any client has received
		n := received[0]
		for _, r := range received {
			n = min(n, r)
		}
		return n
	}
	var wg sync.WaitGroup
	var stop atomic.Bool
	msg := Message{Data: pollBenchPayload(1, 100)[1:]}
	for i, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				body, err := p.pollGet()
				n := 0
				if err == nil {
					for pkt := range bytes.SplitSeq(body, []byte{recordSeparator}) {
						if len(pkt) > 0 && pkt[0] == '4' {
							n++
						}
					}
				}
				mu.Lock()
				received[i] += n
				if err != nil && failed == nil && !stop.Load() {
					failed = err
				}
				cond.Broadcast()
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
	}
	b.ReportAllocs()
	cpu0 := testutil.ProcessCPU()
	sent := 0
	for b.Loop() {
		for _, s := range ss {
			if err := s.Send(msg); err != nil {
				b.Fatal(err)
			}
		}
		sent++
		mu.Lock()
		for failed == nil && low() < sent-window {
			cond.Wait()
		}
		err := failed
		mu.Unlock()
		if err != nil {
			b.Fatal(err)
		}
	}
	mu.Lock()
	for failed == nil && low() < sent {
		cond.Wait()
	}
	mu.Unlock()
	b.ReportMetric(float64(testutil.ProcessCPU()-cpu0)/float64(sent*clients), "cpu-ns/delivery")
	stop.Store(true)
	for _, s := range ss {
		s.Send(Message{Data: []byte("x")}) // releases every held GET
	}
	wg.Wait()
}
