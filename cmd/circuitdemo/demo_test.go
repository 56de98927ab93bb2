package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/seed33933975/circuit"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// shortConfig is the demo squeezed into about a third of a second.
func shortConfig() config {
	return config{
		Rate:        400,
		Tick:        25 * time.Millisecond,
		Healthy:     60 * time.Millisecond,
		Down:        120 * time.Millisecond,
		Recovered:   150 * time.Millisecond,
		Stall:       200 * time.Millisecond,
		Timeout:     15 * time.Millisecond,
		Failures:    3,
		FailureRate: 0.5,
		MinCalls:    10,
		OpenTimeout: 25 * time.Millisecond,
		Trials:      2,
	}
}

// TestRun runs the demo's loop once, with short phases, and checks what it
// shows: the state sequence, the summary, the timeline and the chart.
func TestRun(t *testing.T) {
	cfg := shortConfig()
	var out bytes.Buffer
	res, err := run(context.Background(), cfg, &out)
	require.NoError(t, err)
	t.Log("\n" + out.String())

	t.Run("the breaker trips when the server goes down and closes when it recovers", func(t *testing.T) {
		tr := res.Transitions
		require.GreaterOrEqual(t, len(tr), 3, "at least closed → open → half-open → closed")
		assert.Equal(t, circuit.Closed, tr[0].From)
		assert.Equal(t, circuit.Open, tr[0].To, "the first change is a trip")
		assert.GreaterOrEqual(t, tr[0].At, cfg.Healthy, "no trip while the server is healthy")
		assert.Regexp(t, `consecutive failures|failure rate`, tr[0].Reason)
		for i := 1; i < len(tr); i++ {
			assert.Equal(t, tr[i-1].To, tr[i].From, "transition %d continues from the one before", i)
			assert.GreaterOrEqual(t, tr[i].At, tr[i-1].At, "transitions are in order")
			if tr[i].From == circuit.Open {
				assert.Equal(t, circuit.HalfOpen, tr[i].To, "open only ever moves to half-open")
				assert.Equal(t, "open timeout ended", tr[i].Reason)
			}
		}
		last := tr[len(tr)-1]
		assert.Equal(t, circuit.HalfOpen, last.From)
		assert.Equal(t, circuit.Closed, last.To, "the breaker closes once the server has recovered")
		assert.Equal(t, "2 trial calls succeeded", last.Reason)
		assert.GreaterOrEqual(t, last.At, cfg.Healthy+cfg.Down, "and not before")
		assert.Equal(t, circuit.Closed, res.Final)
		assert.Contains(t, res.States(), circuit.HalfOpen)
	})

	t.Run("the summary counts rejections that saved latency", func(t *testing.T) {
		assert.Positive(t, res.OK.N)
		assert.Positive(t, res.Failed.N)
		assert.Positive(t, res.Reached.N, "some calls reached the failing server before the trip")
		assert.Positive(t, res.Rejected.N, "the open breaker rejected calls")
		assert.Less(t, res.Rejected.mean(), res.Reached.mean(), "a rejection is faster than a call to the failing server")
		assert.Positive(t, res.Saved())
		assert.GreaterOrEqual(t, res.Duration, cfg.total())

		var perTick counts
		for _, tk := range res.Ticks {
			perTick.OK += tk.OK
			perTick.Failed += tk.Failed
			perTick.Rejected += tk.Rejected
		}
		assert.Equal(t, counts{res.OK.N, res.Failed.N, res.Rejected.N}, perTick, "the ticks account for every call")
	})

	t.Run("the timeline shows phases, ticks and transitions with their reasons", func(t *testing.T) {
		text := out.String()
		assert.Contains(t, text, "    time  phase      state          ok  failed  rejected\n")
		assert.Contains(t, text, "── down:")
		assert.Contains(t, text, "── recovered:")
		assert.Contains(t, text, "▸ closed → open")
		assert.Contains(t, text, "▸ open → half-open       open timeout ended")
		assert.Contains(t, text, "▸ half-open → closed     2 trial calls succeeded")
		assert.Contains(t, text, "summary: ")
		assert.Contains(t, text, "latency saved ≈ ")
	})

	t.Run("the SVG is valid XML and shows the three states", func(t *testing.T) {
		var buf bytes.Buffer
		require.NoError(t, writeSVG(&buf, res))
		classes, texts := parseSVG(t, buf.Bytes())
		for _, s := range []string{"closed", "half-open", "open"} {
			assert.Contains(t, classes, "state state-"+s, "the state band shows %s", s)
			assert.Contains(t, texts, s, "the legend names %s", s)
		}
		assert.Contains(t, classes, "calls calls-ok")
		assert.Contains(t, classes, "calls calls-rejected")
		assert.Contains(t, classes, "transition")
	})
}

func TestSVGEscapesText(t *testing.T) {
	res := &result{
		Config:      shortConfig(),
		Duration:    time.Second,
		Transitions: []event{{At: 100 * time.Millisecond, From: circuit.Closed, To: circuit.Open, Reason: `<"5" & 'more'>`}},
		Ticks:       []tick{{At: time.Second, State: circuit.Open, counts: counts{OK: 1}}},
	}
	var buf bytes.Buffer
	require.NoError(t, writeSVG(&buf, res))
	_, texts := parseSVG(t, buf.Bytes())
	assert.Contains(t, strings.Join(texts, "\n"), `closed → open: <"5" & 'more'>`)
}

// parseSVG checks that svg is well-formed XML with an svg root, and returns
// the class attributes and the text it holds.
func parseSVG(t *testing.T, svg []byte) (classes, texts []string) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(svg))
	root := ""
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err, "the SVG is well-formed XML")
		switch tok := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = tok.Name.Local
				assert.Equal(t, "http://www.w3.org/2000/svg", tok.Name.Space)
			}
			for _, a := range tok.Attr {
				if a.Name.Local == "class" {
					classes = append(classes, a.Value)
				}
			}
		case xml.CharData:
			if s := strings.TrimSpace(string(tok)); s != "" {
				texts = append(texts, s)
			}
		}
	}
	require.Equal(t, "svg", root)
	return classes, texts
}

func TestRunStopsWithItsContext(t *testing.T) {
	cfg := shortConfig()
	cfg.Healthy, cfg.Down, cfg.Recovered = time.Hour, time.Hour, time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Millisecond)
	defer cancel()
	var out bytes.Buffer
	res, err := run(ctx, cfg, &out)
	require.NoError(t, err)
	assert.Less(t, res.Duration, time.Minute)
	assert.Positive(t, res.OK.N)
	assert.Contains(t, out.String(), "summary: ")
}

func TestRunReportsBadBreakerOptions(t *testing.T) {
	cfg := shortConfig()
	cfg.Failures, cfg.FailureRate = 0, 0
	_, err := run(context.Background(), cfg, io.Discard)
	require.ErrorIs(t, err, circuit.ErrInvalidOption, "no trip rule left on")
}

func TestFlags(t *testing.T) {
	t.Run("defaults make a 20s run", func(t *testing.T) {
		cfg, svg, err := parseFlags(nil, io.Discard)
		require.NoError(t, err)
		assert.Equal(t, defaultConfig(), cfg)
		assert.Equal(t, "", svg)
		assert.Equal(t, 20*time.Second, cfg.total())
	})
	t.Run("flags set the config", func(t *testing.T) {
		cfg, svg, err := parseFlags([]string{"-svg", "t.svg", "-rate", "50", "-tick", "500ms", "-healthy", "1s",
			"-down", "2s", "-recovered", "3s", "-stall", "2s", "-timeout", "1s", "-failures", "7",
			"-failure-rate", "0.25", "-min-calls", "4", "-open", "3s", "-trials", "1"}, io.Discard)
		require.NoError(t, err)
		assert.Equal(t, "t.svg", svg)
		assert.Equal(t, config{Rate: 50, Tick: 500 * time.Millisecond, Healthy: time.Second, Down: 2 * time.Second,
			Recovered: 3 * time.Second, Stall: 2 * time.Second, Timeout: time.Second, Failures: 7,
			FailureRate: 0.25, MinCalls: 4, OpenTimeout: 3 * time.Second, Trials: 1}, cfg)
	})
	t.Run("-h documents every flag", func(t *testing.T) {
		var out bytes.Buffer
		_, _, err := parseFlags([]string{"-h"}, &out)
		require.ErrorIs(t, err, flag.ErrHelp)
		for _, f := range []string{"-svg", "-rate", "-tick", "-healthy", "-down", "-recovered", "-stall", "-timeout",
			"-failures", "-failure-rate", "-min-calls", "-open", "-trials"} {
			assert.Contains(t, out.String(), "  "+f+" ")
		}
	})
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"zero rate", []string{"-rate", "0"}, "-rate 0 outside"},
		{"zero tick", []string{"-tick", "0s"}, "-tick 0s is not positive"},
		{"negative phase", []string{"-down", "-1s"}, "none may be negative"},
		{"no phases", []string{"-healthy", "0s", "-down", "0s", "-recovered", "0s"}, "add up to zero"},
		{"zero timeout", []string{"-timeout", "0s"}, "-timeout 0s is not positive"},
		{"stray argument", []string{"now"}, "unexpected arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := parseFlags(tc.args, io.Discard)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestWriteSVGFile(t *testing.T) {
	res := &result{
		Config:   shortConfig(),
		Duration: time.Second,
		Ticks:    []tick{{At: time.Second, State: circuit.HalfOpen, counts: counts{Rejected: 2}}},
	}
	path := filepath.Join(t.TempDir(), "timeline.svg")
	require.NoError(t, writeSVGFile(path, res))
	svg, err := os.ReadFile(path)
	require.NoError(t, err)
	parseSVG(t, svg)
	assert.Error(t, writeSVGFile(filepath.Join(t.TempDir(), "no", "such", "dir.svg"), res))
}

func TestRunMain(t *testing.T) {
	ctx := context.Background()
	var out, errOut bytes.Buffer
	assert.Equal(t, 0, runMain(ctx, []string{"-h"}, &out, &errOut))
	assert.Contains(t, errOut.String(), "Usage: circuitdemo")
	assert.Equal(t, 2, runMain(ctx, []string{"-rate", "x"}, &out, &errOut))
	assert.Equal(t, 1, runMain(ctx, []string{"-failures", "0", "-failure-rate", "0"}, &out, &errOut), "no trip rule left")

	path := filepath.Join(t.TempDir(), "run.svg")
	out.Reset()
	args := []string{"-svg", path, "-rate", "400", "-tick", "25ms", "-healthy", "60ms", "-down", "120ms",
		"-recovered", "150ms", "-stall", "200ms", "-timeout", "15ms", "-failures", "3", "-open", "25ms", "-trials", "2"}
	require.Equal(t, 0, runMain(ctx, args, &out, &errOut))
	assert.Contains(t, out.String(), "wrote "+path)
	svg, err := os.ReadFile(path)
	require.NoError(t, err)
	parseSVG(t, svg)
	assert.Equal(t, 1, runMain(ctx, append(args[2:], "-svg", filepath.Join(path, "nope.svg")), &out, &errOut))
}
