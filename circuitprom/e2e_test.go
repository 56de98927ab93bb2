package circuitprom_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/circuitprom"
)

// Waits on the Prometheus server: it scrapes and evaluates every second, and
// starts in a few; 60s is for a loaded machine.
const (
	promWait = 60 * time.Second
	promTick = 250 * time.Millisecond
)

// End to end, against a real Prometheus server: it scrapes a service that
// exports a breaker and evaluates alerts.yml as shipped (for: 1m, so the
// alert is seen pending; its firing after the minute is promtool's test).
// The breaker trips; Prometheus sees it open and CircuitBreakerOpen
// pending; it is reset, and Prometheus sees it closed and the alert gone.
func TestEndToEndPrometheus(t *testing.T) {
	bin := binary(t, "prometheus")

	c := circuitprom.NewCollector()
	b, err := circuit.New[int](circuit.WithName("checkout"), circuit.WithObserver(c.Observer()),
		circuit.WithConsecutiveFailures(3), circuit.WithOpenTimeout(time.Hour))
	require.NoError(t, err)
	c.Add(b)
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	target, err := url.Parse(serve(t, reg))
	require.NoError(t, err)
	for range 5 {
		_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { return 0, nil })
	}

	prom := startPrometheus(t, bin, target.Host)
	prom.eventually(t, `circuit_breaker_state{name="checkout",state="closed"}`, 1)

	for range 3 {
		_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errDown })
	}
	require.Equal(t, circuit.Open, b.State())
	prom.eventually(t, `circuit_breaker_state{name="checkout",state="open"}`, 1)
	prom.eventually(t, `circuit_breaker_state{name="checkout",state="closed"}`, 0)
	prom.eventually(t, `circuit_breaker_trips_total{name="checkout"}`, 1)
	require.Eventually(t, func() bool {
		s, err := prom.alertState("CircuitBreakerOpen", "checkout")
		return err == nil && (s == "pending" || s == "firing")
	}, promWait, promTick, "CircuitBreakerOpen never became pending for checkout")

	// Every query of the dashboard parses and runs on a real Prometheus.
	for where, expr := range dashboardExprs(t, loadDashboard(t)) {
		expr = strings.NewReplacer(`$__rate_interval`, `10s`, `$job`, `.*`, `$name`, `.*`).Replace(expr)
		_, err := prom.query(expr)
		assert.NoError(t, err, "%s: %s", where, expr)
	}

	b.Reset()
	prom.eventually(t, `circuit_breaker_state{name="checkout",state="closed"}`, 1)
	prom.eventually(t, `circuit_breaker_state{name="checkout",state="open"}`, 0)
	require.Eventually(t, func() bool {
		s, err := prom.alertState("CircuitBreakerOpen", "checkout")
		return err == nil && s == ""
	}, promWait, promTick, "CircuitBreakerOpen stayed active after the reset")
}

// promServer is a Prometheus server a test started.
type promServer struct {
	api    string // http://127.0.0.1:port
	client *http.Client
}

// startPrometheus starts bin scraping target (host:port) every second and
// evaluating alerts.yml every second, on a free port of 127.0.0.1, with its
// storage in a temporary directory, and waits until it is ready. The server
// is killed when the test ends.
func startPrometheus(t *testing.T, bin, target string) *promServer {
	t.Helper()
	dir := t.TempDir()
	rulesPath, err := filepath.Abs("alerts.yml")
	require.NoError(t, err)
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - %q
scrape_configs:
  - job_name: shop
    static_configs:
      - targets: [%q]
`, rulesPath, target)
	configPath := filepath.Join(dir, "prometheus.yml")
	require.NoError(t, os.WriteFile(configPath, []byte(config), 0o644))
	logPath := filepath.Join(dir, "prometheus.log")
	logFile, err := os.Create(logPath)
	require.NoError(t, err)
	t.Cleanup(func() { _ = logFile.Close() })

	addr := freeAddr(t)
	cmd := exec.Command(bin,
		"--config.file="+configPath,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			out, _ := os.ReadFile(logPath)
			t.Logf("prometheus log:\n%s", out)
		}
	})

	p := &promServer{api: "http://" + addr, client: &http.Client{Transport: &http.Transport{}, Timeout: 5 * time.Second}}
	t.Cleanup(p.client.CloseIdleConnections)
	require.Eventually(t, func() bool {
		select {
		case <-exited:
			return true // fails below, with the log
		default:
		}
		resp, err := p.client.Get(p.api + "/-/ready")
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, promWait, promTick, "prometheus did not become ready")
	select {
	case <-exited:
		t.Fatal("prometheus exited at start")
	default:
	}
	return p
}

// freeAddr returns 127.0.0.1 and a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// get decodes the data of the API's answer to path into v.
func (p *promServer) get(path string, v any) error {
	resp, err := p.client.Get(p.api + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var answer struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		return fmt.Errorf("GET %s: %s: %w", path, resp.Status, err)
	}
	if answer.Status != "success" {
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, answer.Error)
	}
	return json.Unmarshal(answer.Data, v)
}

// query runs an instant query and returns the values of its series.
func (p *promServer) query(expr string) ([]float64, error) {
	var data struct {
		Result []struct {
			Value [2]any `json:"value"`
		} `json:"result"`
	}
	if err := p.get("/api/v1/query?query="+url.QueryEscape(expr), &data); err != nil {
		return nil, err
	}
	var vs []float64
	for _, r := range data.Result {
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("query %s: value %v: %w", expr, r.Value[1], err)
		}
		vs = append(vs, v)
	}
	return vs, nil
}

// eventually waits until expr has one series, of value want.
func (p *promServer) eventually(t *testing.T, expr string, want float64) {
	t.Helper()
	var last []float64
	var lastErr error
	ok := assert.Eventually(t, func() bool {
		last, lastErr = p.query(expr)
		return lastErr == nil && len(last) == 1 && last[0] == want
	}, promWait, promTick)
	require.True(t, ok, "%s: want one series of value %v; last answer %v, error %v", expr, want, last, lastErr)
}

// alertState returns the state of alert for breaker name, pending or
// firing, or "" while it is not active.
func (p *promServer) alertState(alert, name string) (string, error) {
	var data struct {
		Alerts []struct {
			Labels map[string]string `json:"labels"`
			State  string            `json:"state"`
		} `json:"alerts"`
	}
	if err := p.get("/api/v1/alerts", &data); err != nil {
		return "", err
	}
	for _, a := range data.Alerts {
		if a.Labels["alertname"] == alert && a.Labels["name"] == name {
			return a.State, nil
		}
	}
	return "", nil
}
