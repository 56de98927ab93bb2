package main

import (
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/seed33933975/circuit/circuitdebug"
	"github.com/seed33933975/circuit/circuithttp"
	"github.com/seed33933975/circuit/circuitprom"
)

// serveStatus serves the status page at / and the Prometheus metrics at
// /metrics on addr, and returns a function that stops the server and waits
// for it.
func (d *demo) serveStatus(addr string, tr *circuithttp.Transport, metrics *circuitprom.Collector) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(metrics); err != nil {
		_ = ln.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/", circuitdebug.Handler(tr))
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			d.printf("status server: %v\n", err)
		}
	}()
	d.printf("status page: http://%s/   metrics: http://%s/metrics\n", ln.Addr(), ln.Addr())
	return func() {
		_ = srv.Close() // ends the page's event streams too
		<-done
	}, nil
}
