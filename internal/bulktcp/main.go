// Command bulktcp generates bulk TCP traffic for benchmark captures: a sink
// that reads and discards, and a client that opens many connections and
// writes a fixed number of bytes on each. It is used by
// scripts/gen-bench-capture.sh between two network namespaces.
//
//	bulktcp -listen [::]:5001
//	bulktcp -connect 10.77.0.2:5001,[fd00:77::2]:5001 -conns 200 -parallel 16 -bytes 8000000 -rcvbufs 0,65536
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

func main() {
	listen := flag.String("listen", "", "sink: address to listen on")
	connect := flag.String("connect", "", "client: comma-separated server addresses, used round robin")
	conns := flag.Int("conns", 100, "client: number of connections")
	parallel := flag.Int("parallel", 8, "client: connections at a time")
	nbytes := flag.Int64("bytes", 4<<20, "client: bytes to send per connection")
	rcvbufs := flag.String("rcvbufs", "0", "client: comma-separated SO_RCVBUF values set before connect (0 = kernel default), round robin; they vary the offered window scale")
	flag.Parse()
	switch {
	case *listen != "":
		log.Fatal(sink(*listen))
	case *connect != "":
		var bufs []int
		for _, s := range strings.Split(*rcvbufs, ",") {
			n, err := strconv.Atoi(s)
			if err != nil {
				log.Fatalf("bad -rcvbufs: %v", err)
			}
			bufs = append(bufs, n)
		}
		if err := client(strings.Split(*connect, ","), *conns, *parallel, *nbytes, bufs); err != nil {
			log.Fatal(err)
		}
	default:
		flag.Usage()
		os.Exit(2)
	}
}

func sink(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Println("listening on", ln.Addr())
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go func() {
			defer c.Close()
			io.Copy(io.Discard, c)
		}()
	}
}

func client(addrs []string, conns, parallel int, nbytes int64, rcvbufs []int) error {
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	buf := make([]byte, 64<<10)
	for i := range conns {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			rb := rcvbufs[i%len(rcvbufs)]
			d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
				if rb == 0 {
					return nil
				}
				var serr error
				rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rb) })
				return serr
			}}
			c, err := d.Dial("tcp", addrs[i%len(addrs)])
			if err == nil {
				left := nbytes
				for left > 0 && err == nil {
					n := min(left, int64(len(buf)))
					_, err = c.Write(buf[:n])
					left -= n
				}
				c.Close()
			}
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
