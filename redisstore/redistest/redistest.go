// Package redistest starts throwaway redis-server processes for tests and
// benchmarks: on a free port of 127.0.0.1, with persistence off, killed when
// the test ends.
//
// redis-server must be on PATH (Debian: apt-get install redis-server; the
// repository's make test installs it). Where it is missing, Start skips the
// test, except under CI (CI=true), where a test that cannot reach a real
// server must fail rather than pass unseen.
package redistest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is a redis-server process run for a test.
type Server struct {
	tb      testing.TB
	bin     string
	port    int
	cluster bool
	dir     string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// Start starts a redis-server for tb and stops it when tb ends.
func Start(tb testing.TB) *Server { return start(tb, false) }

// StartCluster starts a redis-server in cluster mode that serves every hash
// slot alone: a one-node Redis Cluster, which rejects a command whose keys
// lie in different slots as a real one does.
func StartCluster(tb testing.TB) *Server { return start(tb, true) }

func start(tb testing.TB, cluster bool) *Server {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("redis-server not found on PATH (CI=true, so not skipping): %v", err)
		}
		tb.Skipf("redis-server not found on PATH (apt-get install redis-server): %v", err)
	}
	s := &Server{tb: tb, bin: bin, port: freePort(tb), cluster: cluster, dir: tb.TempDir()}
	tb.Cleanup(s.Stop)
	s.Restart()
	if cluster {
		s.do("CLUSTER", "ADDSLOTSRANGE", "0", "16383")
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(s.do("CLUSTER", "INFO"), "cluster_state:ok") {
			if time.Now().After(deadline) {
				tb.Fatalf("redis cluster on %s not ok after 10s", s.Addr())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return s
}

// Addr returns the server's address, 127.0.0.1:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Stop kills the server (SIGKILL: as abrupt as a crash) and waits for it to
// exit. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// Restart starts the server again, on the same port, with no data (it
// persists nothing), after a Stop; on a running server it stops it first. It
// returns when the server answers PING.
func (s *Server) Restart() {
	s.tb.Helper()
	s.Stop()
	args := []string{"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", s.dir, "--logfile", filepath.Join(s.dir, "redis.log")}
	if s.cluster {
		args = append(args, "--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(s.dir, "nodes.conf"))
	}
	cmd := exec.Command(s.bin, args...)
	if err := cmd.Start(); err != nil {
		s.tb.Fatalf("start redis-server: %v", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()

	deadline := time.Now().Add(10 * time.Second)
	for {
		if reply, err := s.try("PING"); err == nil && reply == "PONG" {
			return
		}
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			s.tb.Fatalf("redis-server on port %d exited at start:\n%s", s.port, log)
		default:
		}
		if time.Now().After(deadline) {
			s.tb.Fatalf("redis-server on port %d not answering PING after 10s", s.port)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// do sends one command and returns its reply as text; an error fails tb.
func (s *Server) do(args ...string) string {
	s.tb.Helper()
	reply, err := s.try(args...)
	if err != nil {
		s.tb.Fatalf("redis %v: %v", args, err)
	}
	return reply
}

// try sends one command over a connection of its own, in RESP, and returns
// a simple, error or bulk reply as text: enough for PING and CLUSTER, with
// no client library.
func (s *Server) try(args ...string) (string, error) {
	c, err := net.DialTimeout("tcp", s.Addr(), time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.Write([]byte(b.String())); err != nil {
		return "", err
	}
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSuffix(line, "\r\n")
	switch {
	case strings.HasPrefix(line, "+"):
		return line[1:], nil
	case strings.HasPrefix(line, "-"):
		return "", fmt.Errorf("%s", line[1:])
	case strings.HasPrefix(line, "$"):
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", fmt.Errorf("unexpected reply %q", line)
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
	return line, nil
}

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
