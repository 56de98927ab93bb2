package circuit_test

// Model-based test: a plain, mutex-guarded, sequential breaker written from
// DESIGN.md's behaviour rules 1–6 and 9 (the reference model) runs side by
// side with the real Breaker on one fake clock. Random sequences of calls,
// clock moves and manual controls drive both; after every step the test
// compares what a caller can see: whether a call was admitted and the
// rejection, the state, the Metrics figures and the transitions delivered to
// OnStateChange.
//
// Every sequence comes from a seed. A failing sequence is shrunk to a short
// one that still fails, and the seed and the steps are printed:
//
//	go test -run TestModelRandomSequences -model.seed=N -v .
//
// replays one sequence with a step-by-step trace; -model.sequences and
// -model.base run more or other sequences.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/circuittest"
)

var (
	mdlSequences = flag.Int("model.sequences", 10000, "sequences the model-based test runs")
	mdlBase      = flag.Uint64("model.base", 1, "seed of the model test's first sequence; 0: one from the time of day")
	mdlSeed      = flag.Uint64("model.seed", 0, "replay only the model sequence of this seed, with a trace")
	mdlMaxOps    = flag.Int("model.ops", 60, "most steps in one model sequence")
)

// ---------------------------------------------------------------------------
// The reference model.

type mdlOutcome uint8

const (
	mdlSuccess mdlOutcome = iota
	mdlFailure
	mdlExcluded // excluded by the predicate, or ignored: the caller canceled
)

func (o mdlOutcome) String() string { return [...]string{"success", "failure", "excluded"}[o] }

// mdlConfig is the breaker's configuration after defaults.
type mdlConfig struct {
	name        string
	countSize   int   // > 0: count window
	width       int64 // time window: bucket width, ns
	buckets     int64
	consecutive int
	rate        float64
	minCalls    int
	slowThr     int64 // 0: slow rule off
	slowRate    float64
	openFor     func(k int) int64 // open period of the k-th trip in a row
	trials      int
	successes   int
	exclude     bool // errors wrapping mdlErrExcluded are excluded
	isFailure   bool // errors wrapping mdlErrBenign are successes
	bulk        int
}

type mdlEvent struct {
	at   int64 // clock reading, ns since New
	o    mdlOutcome
	slow bool
}

// mdlReason is an expected Transition.Reason.
type mdlReason struct {
	exact  string // compared exactly, unless kind is set
	kind   string // "failure rate" or "slow-call rate": figures compared
	rate   float64
	thr    float64
	calls  int
	prefix string // compared as a prefix
}

func (r mdlReason) String() string {
	switch {
	case r.kind != "":
		return fmt.Sprintf("%s %.4g%% >= %.4g%% over %s", r.kind, r.rate*100, r.thr*100, mdlPlural(r.calls, "call"))
	case r.prefix != "":
		return r.prefix + "..."
	}
	return r.exact
}

// mdlPlural is "1 call", "2 calls": the reasons count in words.
func mdlPlural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

var mdlRateReason = regexp.MustCompile(`^(failure rate|slow-call rate) ([0-9.]+)% >= ([0-9.]+)% over ([0-9]+) calls?\b`)

func (r mdlReason) matches(got string) bool {
	switch {
	case r.kind != "":
		m := mdlRateReason.FindStringSubmatch(got)
		if m == nil || m[1] != r.kind {
			return false
		}
		x, _ := strconv.ParseFloat(m[2], 64)
		y, _ := strconv.ParseFloat(m[3], 64)
		n, _ := strconv.Atoi(m[4])
		return math.Abs(x-r.rate*100) <= 0.051 && math.Abs(y-r.thr*100) <= 0.051 && n == r.calls
	case r.prefix != "":
		return strings.HasPrefix(got, r.prefix)
	}
	return got == r.exact
}

type mdlTransition struct {
	from, to circuit.State
	at       int64
	reason   mdlReason
}

// mdlPermit is an admitted call in the model.
type mdlPermit struct {
	round int
	start int64
}

// mdlModel is the reference breaker: the obvious version, not a copy of the
// implementation. The windows are lists of events, the state is a few plain
// fields behind a mutex, and every rule is written as DESIGN.md states it.
type mdlModel struct {
	mu       sync.Mutex
	cfg      mdlConfig
	baseUnix int64 // Unix nanoseconds of clock reading 0; buckets align with Unix time

	state    circuit.State
	round    int   // bumped by every transition; outcomes of an older round are dropped
	until    int64 // end of the open period, while Open
	admitted int   // trial calls admitted in this half-open round
	succ     int   // trial calls that succeeded in this half-open round
	cf       int   // failures since the last success
	streak   int   // trips in a row, for the open backoff
	rejected uint64
	trips    uint64
	inflight int

	events   []mdlEvent // time window: every outcome; count window: counted outcomes only
	excluded int        // count window: excluded outcomes since the window was emptied
	trans    []mdlTransition
}

func newMdlModel(cfg mdlConfig, base time.Time) *mdlModel {
	return &mdlModel{cfg: cfg, baseUnix: base.UnixNano(), state: circuit.Closed}
}

func mdlFloorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// bucket is the Unix-aligned time-window bucket of clock reading t.
func (m *mdlModel) bucket(t int64) int64 { return mdlFloorDiv(m.baseUnix+t, m.cfg.width) }

type mdlCounts struct{ successes, failures, slow, excluded int }

// counts sums the window at now (rule 9): a time window holds the outcomes of
// the last `buckets` buckets, the current one included; a count window the
// last countSize counted outcomes.
func (m *mdlModel) counts(now int64) mdlCounts {
	var n mdlCounts
	evs := m.events
	if m.cfg.countSize > 0 {
		if len(evs) > m.cfg.countSize {
			evs = evs[len(evs)-m.cfg.countSize:]
		}
		n.excluded = m.excluded
	} else {
		cur := m.bucket(now)
		var in []mdlEvent
		for _, e := range evs {
			if b := m.bucket(e.at); b > cur-m.cfg.buckets && b <= cur {
				in = append(in, e)
			}
		}
		evs = in
	}
	for _, e := range evs {
		switch e.o {
		case mdlSuccess:
			n.successes++
		case mdlFailure:
			n.failures++
		case mdlExcluded:
			n.excluded++
		}
		if e.slow {
			n.slow++
		}
	}
	return n
}

func (m *mdlModel) record(now int64, o mdlOutcome, slow bool) {
	if m.cfg.countSize > 0 && o == mdlExcluded {
		m.excluded++
		return
	}
	m.events = append(m.events, mdlEvent{at: now, o: o, slow: slow})
}

func (m *mdlModel) emptyWindow() {
	m.events, m.excluded = nil, 0
}

// transition changes the state (rule 6: one report per change, none when the
// state stays, as Reset of a Closed breaker).
func (m *mdlModel) transition(to circuit.State, r mdlReason, at, minOpen int64) {
	from := m.state
	m.round++
	m.admitted, m.succ = 0, 0
	switch to {
	case circuit.Open:
		m.streak++
		m.until = at + max(m.cfg.openFor(m.streak), 0, minOpen)
		m.trips++
	case circuit.Closed:
		m.streak = 0
		m.emptyWindow()
		m.cf = 0
	}
	m.state = to
	if from != to {
		m.trans = append(m.trans, mdlTransition{from: from, to: to, at: at, reason: r})
	}
}

// tick makes the lazy transition of rule 3: an Open breaker whose period
// has ended is HalfOpen, as of the end of the period.
func (m *mdlModel) tick(now int64) {
	if m.state == circuit.Open && now >= m.until {
		m.transition(circuit.HalfOpen, mdlReason{exact: "open timeout ended"}, m.until, 0)
	}
}

type mdlRejection uint8

const (
	mdlAdmitted mdlRejection = iota
	mdlRejOpen
	mdlRejForced
	mdlRejTooMany
	mdlRejBulkhead
)

func (r mdlRejection) String() string {
	return [...]string{"admitted", "ErrOpen", "ErrOpen (forced)", "ErrTooManyRequests", "ErrBulkheadFull"}[r]
}

func (m *mdlModel) admit(now int64) (*mdlPermit, mdlRejection) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cfg.bulk > 0 && m.inflight >= m.cfg.bulk {
		m.rejected++
		return nil, mdlRejBulkhead
	}
	m.tick(now)
	switch m.state {
	case circuit.Open:
		m.rejected++
		return nil, mdlRejOpen
	case circuit.ForcedOpen:
		m.rejected++
		return nil, mdlRejForced
	case circuit.HalfOpen:
		if m.admitted >= m.cfg.trials {
			m.rejected++
			return nil, mdlRejTooMany
		}
		m.admitted++
	}
	m.inflight++
	return &mdlPermit{round: m.round, start: now}, mdlAdmitted
}

// complete counts the outcome of an admitted call (rules 1, 2, 4, 5).
func (m *mdlModel) complete(p *mdlPermit, o mdlOutcome, hint, now int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.inflight--
	if p.round != m.round {
		return // the round it was admitted in is over
	}
	slow := m.cfg.slowThr > 0 && o != mdlExcluded && now-p.start >= m.cfg.slowThr
	m.record(now, o, slow)
	switch o {
	case mdlExcluded:
		if m.state == circuit.HalfOpen {
			m.admitted-- // gives its permit back
		}
		return
	case mdlSuccess:
		m.cf = 0
	case mdlFailure:
		m.cf++
	}
	if o == mdlSuccess && !slow {
		if m.state == circuit.HalfOpen {
			m.succ++
			if m.succ >= m.cfg.successes {
				m.transition(circuit.Closed, mdlReason{exact: mdlPlural(m.succ, "trial call") + " succeeded"}, now, 0)
			}
		}
		return
	}
	if o != mdlFailure {
		hint = 0
	}
	switch m.state {
	case circuit.Closed:
		m.checkTrip(now, hint)
	case circuit.HalfOpen:
		if o == mdlFailure {
			m.transition(circuit.Open, mdlReason{exact: "trial call failed"}, now, hint)
		} else {
			m.transition(circuit.Open, mdlReason{prefix: "trial call slow"}, now, 0)
		}
	}
}

// checkTrip applies rule 2 after a failure or a slow call in Closed: "the
// trip rules are checked ... Any one trips it". Every rule is checked, not
// only the one of the outcome's kind: a slow success can trip the
// failure-rate rule, a fast failure the slow-call rule.
func (m *mdlModel) checkTrip(now, hint int64) {
	cfg := m.cfg
	if cfg.consecutive > 0 && m.cf >= cfg.consecutive {
		m.transition(circuit.Open, mdlReason{exact: mdlPlural(m.cf, "consecutive failure")}, now, hint)
		return
	}
	n := m.counts(now)
	calls := n.successes + n.failures
	if calls == 0 || calls < cfg.minCalls {
		return
	}
	if r := float64(n.failures) / float64(calls); cfg.rate > 0 && r >= cfg.rate {
		m.transition(circuit.Open, mdlReason{kind: "failure rate", rate: r, thr: cfg.rate, calls: calls}, now, hint)
		return
	}
	if r := float64(n.slow) / float64(calls); cfg.slowThr > 0 && r >= cfg.slowRate {
		m.transition(circuit.Open, mdlReason{kind: "slow-call rate", rate: r, thr: cfg.slowRate, calls: calls}, now, hint)
	}
}

// force is ForceOpen, Disable and Reset (rule 5). Rule 3 comes first: after
// the open timeout they find a HalfOpen breaker, and Open→HalfOpen is
// reported, at the end of the open period, before their own transition.
func (m *mdlModel) force(to circuit.State, now int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tick(now)
	if m.state == to && to != circuit.Closed {
		return
	}
	reason := map[circuit.State]string{circuit.ForcedOpen: "forced open", circuit.Disabled: "disabled", circuit.Closed: "reset"}[to]
	m.transition(to, mdlReason{exact: reason}, now, 0)
}

func (m *mdlModel) observe(now int64) circuit.State {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tick(now)
	return m.state
}

// metrics returns the figures as Metrics reports them; with tick false, as
// they stand (for circuit.Peek).
func (m *mdlModel) metrics(now int64, tick bool) circuit.Metrics {
	m.mu.Lock()
	defer m.mu.Unlock()
	if tick {
		m.tick(now)
	}
	n := m.counts(now)
	mt := circuit.Metrics{
		State:               m.state,
		Calls:               n.successes + n.failures,
		Successes:           n.successes,
		Failures:            n.failures,
		SlowCalls:           n.slow,
		Excluded:            n.excluded,
		ConsecutiveFailures: m.cf,
		Rejected:            m.rejected,
		Trips:               m.trips,
	}
	if mt.Calls > 0 {
		mt.FailureRate = float64(n.failures) / float64(mt.Calls)
		mt.SlowCallRate = float64(n.slow) / float64(mt.Calls)
	}
	if m.cfg.bulk > 0 {
		mt.InFlight = m.inflight
	}
	return mt
}

// ---------------------------------------------------------------------------
// Sequences: options and steps, as data, so that a failing sequence can be
// replayed and shrunk.

var (
	mdlErrFail     = errors.New("model: dependency failed")
	mdlErrExcluded = errors.New("model: excluded error")
	mdlErrBenign   = errors.New("model: not a failure")
	mdlErrFallback = errors.New("model: fallback")
)

// mdlHintErr is a failure asking for a minimum open time, as circuithttp's
// error for a 503 with Retry-After does.
type mdlHintErr struct{ d time.Duration }

func (e mdlHintErr) Error() string             { return "model: retry after " + e.d.String() }
func (e mdlHintErr) RetryAfter() time.Duration { return e.d }
func (e mdlHintErr) hint() int64               { return int64(e.d) }

type mdlResult uint8

const (
	mdlResOK mdlResult = iota
	mdlResFail
	mdlResExcluded // fn returns an error that WithExclude's predicate claims
	mdlResBenign   // fn returns an error that WithIsFailure says is no failure
	mdlResHint     // fn fails with a Retry-After hint
	mdlResPanic
)

func (r mdlResult) String() string {
	return [...]string{"ok", "fail", "excluded-err", "benign-err", "hint-fail", "panic"}[r]
}

type mdlCtxKind uint8

const (
	mdlCtxLive mdlCtxKind = iota
	mdlCtxCanceled
	mdlCtxDeadline
)

func (c mdlCtxKind) String() string { return [...]string{"", " ctx=canceled", " ctx=deadline"}[c] }

// mdlDur is a duration resolved against the model when the step runs, so
// that steps land on bucket edges and open-period ends.
type mdlDur struct {
	kind  uint8 // mdlDur* below
	ns    int64 // fixed part
	delta int64 // added to the edge
}

const (
	mdlDurFixed     uint8 = iota // ns
	mdlDurBucket                 // to the next bucket edge, + delta
	mdlDurUntil                  // to the end of the open period, + delta
	mdlDurSlow                   // the slow-call threshold + delta
	mdlDurWindow                 // the window length + delta
	mdlDurOpenDelta              // WithOpenTimeout's value + delta
)

func (d mdlDur) String() string {
	edge := [...]string{"", "bucket-edge", "open-until", "slow-threshold", "window", "open-timeout"}[d.kind]
	switch {
	case d.kind == mdlDurFixed:
		return time.Duration(d.ns).String()
	case d.delta == 0:
		return edge
	case d.delta > 0:
		return edge + "+" + time.Duration(d.delta).String()
	}
	return edge + "-" + time.Duration(-d.delta).String()
}

type mdlOpKind uint8

const (
	mdlOpCall      mdlOpKind = iota // Execute or ExecuteWithFallback
	mdlOpBegin                      // Allow
	mdlOpEnd                        // done of a pending Allow
	mdlOpDoneAgain                  // a done already called, again: nothing happens
	mdlOpAdvance
	mdlOpState
	mdlOpMetrics
	mdlOpForceOpen
	mdlOpDisable
	mdlOpReset
)

type mdlOp struct {
	kind     mdlOpKind
	res      mdlResult
	ctx      mdlCtxKind
	fallback bool
	dur      mdlDur
	hint     time.Duration
	pick     int
}

func (op mdlOp) String() string {
	switch op.kind {
	case mdlOpCall:
		s := "Execute"
		if op.fallback {
			s = "ExecuteWithFallback"
		}
		s += fmt.Sprintf(" %v%v took=%v", op.res, op.ctx, op.dur)
		if op.res == mdlResHint {
			s += " hint=" + op.hint.String()
		}
		return s
	case mdlOpBegin:
		return "Allow" + op.ctx.String()
	case mdlOpEnd:
		s := fmt.Sprintf("done#%d(%v)", op.pick, op.res)
		if op.res == mdlResHint {
			s += " hint=" + op.hint.String()
		}
		return s
	case mdlOpDoneAgain:
		return fmt.Sprintf("done#%d again", op.pick)
	case mdlOpAdvance:
		return "Advance " + op.dur.String()
	}
	return [...]string{mdlOpState: "State", mdlOpMetrics: "Metrics", mdlOpForceOpen: "ForceOpen",
		mdlOpDisable: "Disable", mdlOpReset: "Reset"}[op.kind]
}

type mdlBackoffKind uint8

const (
	mdlNoBackoff mdlBackoffKind = iota
	mdlConstBackoff
	mdlExpBackoff
	mdlLinearBackoff // a user's function: k*d
)

// mdlSpec is one sequence: the options (in the order given to New) and the
// steps.
type mdlSpec struct {
	seed  uint64
	start time.Time
	opts  []string // option names in order; values below

	name               string
	countSize          int
	winLen             time.Duration
	buckets            int
	consecutive        int
	rate               float64
	minCalls           int
	slowThr            time.Duration
	slowRate           float64
	openTimeout        time.Duration
	backoff            mdlBackoffKind
	boD, boInit, boMax time.Duration
	trials, successes  int
	exclude, isFailure bool
	bulk               int
	ops                []mdlOp
	// mono: the breaker keeps its own clock, the monotonic one, with the
	// timers that spare its hot paths the clock read (window_tick.go), in a
	// synctest bubble whose fake time the steps move. Else it is given a
	// circuittest.Clock (WithClock, in opts).
	mono bool
}

func (s *mdlSpec) has(opt string) bool {
	for _, o := range s.opts {
		if o == opt {
			return true
		}
	}
	return false
}

func (s *mdlSpec) index(opt string) int {
	for i, o := range s.opts {
		if o == opt {
			return i
		}
	}
	return -1
}

// options builds the options of the real breaker.
func (s *mdlSpec) options(clk circuit.Clock, hook func(circuit.Transition)) []circuit.Option {
	var opts []circuit.Option
	for _, o := range s.opts {
		switch o {
		case "WithName":
			opts = append(opts, circuit.WithName(s.name))
		case "WithCountWindow":
			opts = append(opts, circuit.WithCountWindow(s.countSize))
		case "WithWindow":
			opts = append(opts, circuit.WithWindow(s.winLen, s.buckets))
		case "WithConsecutiveFailures":
			opts = append(opts, circuit.WithConsecutiveFailures(s.consecutive))
		case "WithFailureRate":
			opts = append(opts, circuit.WithFailureRate(s.rate, s.minCalls))
		case "WithSlowCalls":
			opts = append(opts, circuit.WithSlowCalls(s.slowThr, s.slowRate))
		case "WithOpenTimeout":
			opts = append(opts, circuit.WithOpenTimeout(s.openTimeout))
		case "WithOpenBackoff":
			var b circuit.Backoff
			switch s.backoff {
			case mdlConstBackoff:
				b = circuit.ConstantBackoff(s.boD)
			case mdlExpBackoff:
				b = circuit.ExponentialBackoff(s.boInit, s.boMax, 0)
			case mdlLinearBackoff:
				d := s.boD
				b = func(k int) time.Duration { return time.Duration(k) * d }
			}
			opts = append(opts, circuit.WithOpenBackoff(b))
		case "WithHalfOpenTrials":
			opts = append(opts, circuit.WithHalfOpenTrials(s.trials))
		case "WithSuccessThreshold":
			opts = append(opts, circuit.WithSuccessThreshold(s.successes))
		case "WithExclude":
			opts = append(opts, circuit.WithExclude(func(err error) bool { return errors.Is(err, mdlErrExcluded) }))
		case "WithIsFailure":
			opts = append(opts, circuit.WithIsFailure(func(err error) bool { return !errors.Is(err, mdlErrBenign) }))
		case "WithBulkhead":
			opts = append(opts, circuit.WithBulkhead(s.bulk, 0))
		case "WithClock":
			opts = append(opts, circuit.WithClock(clk))
		case "WithOnStateChange":
			opts = append(opts, circuit.WithOnStateChange(hook))
		}
	}
	return opts
}

// config is the model's configuration: the spec with DESIGN.md's defaults
// filled in, worked out independently of settings.go.
func (s *mdlSpec) config() mdlConfig {
	cfg := mdlConfig{
		name: s.name, consecutive: 5, rate: 0.5, minCalls: 20, trials: 1,
		exclude: s.exclude, isFailure: s.isFailure, bulk: s.bulk,
	}
	winLen, buckets := 30*time.Second, 10
	if s.has("WithWindow") {
		winLen, buckets = s.winLen, s.buckets
	}
	cfg.width, cfg.buckets = int64(winLen)/int64(buckets), int64(buckets)
	if s.has("WithCountWindow") {
		cfg.countSize = s.countSize
	}
	if s.has("WithConsecutiveFailures") {
		cfg.consecutive = s.consecutive
	}
	if s.has("WithFailureRate") {
		cfg.rate = s.rate
		if s.minCalls > 0 {
			cfg.minCalls = s.minCalls
		}
	}
	if s.has("WithSlowCalls") {
		cfg.slowThr, cfg.slowRate = int64(s.slowThr), s.slowRate
	}
	if s.has("WithHalfOpenTrials") {
		cfg.trials = s.trials
	}
	cfg.successes = cfg.trials
	if s.has("WithSuccessThreshold") {
		cfg.successes = s.successes
	}
	timeout := int64(time.Minute)
	if s.has("WithOpenTimeout") {
		timeout = int64(s.openTimeout)
	}
	cfg.openFor = func(int) int64 { return timeout }
	// Rule 13: where both are given, the last one wins.
	if s.has("WithOpenBackoff") && s.index("WithOpenBackoff") > s.index("WithOpenTimeout") {
		switch s.backoff {
		case mdlConstBackoff:
			cfg.openFor = func(int) int64 { return int64(s.boD) }
		case mdlExpBackoff:
			cfg.openFor = func(k int) int64 {
				d := int64(s.boInit)
				for i := 1; i < k && d < int64(s.boMax); i++ {
					d *= 2
				}
				return min(d, int64(s.boMax))
			}
		case mdlLinearBackoff:
			cfg.openFor = func(k int) int64 { return int64(k) * int64(s.boD) }
		}
	}
	return cfg
}

func (s *mdlSpec) describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "clock start %v\noptions:", s.start.Format(time.RFC3339Nano))
	if s.mono {
		b.WriteString(" (the monotonic clock, in a synctest bubble)")
	}
	for _, o := range s.opts {
		switch o {
		case "WithName":
			fmt.Fprintf(&b, " WithName(%q)", s.name)
		case "WithCountWindow":
			fmt.Fprintf(&b, " WithCountWindow(%d)", s.countSize)
		case "WithWindow":
			fmt.Fprintf(&b, " WithWindow(%v, %d)", s.winLen, s.buckets)
		case "WithConsecutiveFailures":
			fmt.Fprintf(&b, " WithConsecutiveFailures(%d)", s.consecutive)
		case "WithFailureRate":
			fmt.Fprintf(&b, " WithFailureRate(%v, %d)", s.rate, s.minCalls)
		case "WithSlowCalls":
			fmt.Fprintf(&b, " WithSlowCalls(%v, %v)", s.slowThr, s.slowRate)
		case "WithOpenTimeout":
			fmt.Fprintf(&b, " WithOpenTimeout(%v)", s.openTimeout)
		case "WithOpenBackoff":
			switch s.backoff {
			case mdlConstBackoff:
				fmt.Fprintf(&b, " WithOpenBackoff(ConstantBackoff(%v))", s.boD)
			case mdlExpBackoff:
				fmt.Fprintf(&b, " WithOpenBackoff(ExponentialBackoff(%v, %v, 0))", s.boInit, s.boMax)
			case mdlLinearBackoff:
				fmt.Fprintf(&b, " WithOpenBackoff(k*%v)", s.boD)
			}
		case "WithHalfOpenTrials":
			fmt.Fprintf(&b, " WithHalfOpenTrials(%d)", s.trials)
		case "WithSuccessThreshold":
			fmt.Fprintf(&b, " WithSuccessThreshold(%d)", s.successes)
		case "WithBulkhead":
			fmt.Fprintf(&b, " WithBulkhead(%d, 0)", s.bulk)
		default:
			b.WriteString(" " + o)
		}
	}
	return b.String()
}

// mdlPick draws one of a few values, so that thresholds and durations meet
// their edge cases often.
func mdlPick[T any](r *rand.Rand, vs ...T) T { return vs[r.IntN(len(vs))] }

// mdlGenerate makes the sequence of a seed. Odd seeds run on the monotonic
// clock (mdlSpec.mono), even ones on circuittest.Clock.
func mdlGenerate(seed uint64, maxOps int) *mdlSpec {
	s := mdlGenerateFrom(rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)), maxOps)
	s.seed = seed
	if seed%2 == 1 {
		s.onMonotonicClock()
	}
	return s
}

// onMonotonicClock makes s run on the monotonic clock of a synctest bubble,
// which starts at midnight UTC 2000-01-01.
func (s *mdlSpec) onMonotonicClock() {
	s.mono = true
	s.start = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	s.opts = slices.DeleteFunc(s.opts, func(o string) bool { return o == "WithClock" })
}

func mdlGenerateFrom(r *rand.Rand, maxOps int) *mdlSpec {
	s := &mdlSpec{}
	switch r.IntN(10) {
	case 0:
		s.start = time.Unix(-r.Int64N(1e9), r.Int64N(1e9)) // before 1970: negative Unix times
	case 1:
		s.start = time.Unix(0, 0)
	default:
		s.start = time.Unix(1.7e9+r.Int64N(1e8), r.Int64N(1e9))
	}
	add := func(opt string) { s.opts = append(s.opts, opt) }
	add("WithClock")
	add("WithOnStateChange")
	if r.IntN(2) == 0 {
		s.name = mdlPick(r, "", "db", "payments")
		add("WithName")
	}
	if r.IntN(2) == 0 {
		s.countSize = 1 + r.IntN(mdlPick(r, 3, 10, 30))
		add("WithCountWindow")
	} else if r.IntN(6) != 0 {
		s.buckets = 1 + r.IntN(mdlPick(r, 2, 5, 12))
		width := mdlPick(r, time.Millisecond, 7*time.Millisecond, 100*time.Millisecond, time.Second, 3*time.Second)
		s.winLen = width * time.Duration(s.buckets)
		if r.IntN(4) == 0 {
			s.winLen += time.Duration(r.IntN(s.buckets)) // not a multiple of the bucket count
		}
		add("WithWindow")
	}
	if r.IntN(10) < 7 {
		s.consecutive = r.IntN(7)
		add("WithConsecutiveFailures")
	}
	if r.IntN(10) < 7 {
		s.rate = mdlPick(r, 0, 0.1, 0.25, 1.0/3, 0.5, 0.6, 1, 0.01+0.99*r.Float64())
		s.minCalls = 1 + r.IntN(12)
		add("WithFailureRate")
	}
	if r.IntN(10) < 4 {
		s.slowThr = mdlPick(r, 10*time.Millisecond, 100*time.Millisecond, time.Second, 5*time.Second)
		s.slowRate = mdlPick(r, 0.2, 0.5, 1, 0.01+0.99*r.Float64())
		add("WithSlowCalls")
	}
	if r.IntN(10) < 7 {
		s.openTimeout = mdlPick(r, time.Millisecond, 50*time.Millisecond, time.Second, 5*time.Second, time.Minute)
		add("WithOpenTimeout")
	}
	if r.IntN(10) < 3 {
		s.backoff = mdlBackoffKind(1 + r.IntN(3))
		s.boD = mdlPick(r, 0, 10*time.Millisecond, time.Second)
		s.boInit = mdlPick(r, time.Millisecond, 100*time.Millisecond, time.Second)
		s.boMax = s.boInit * mdlPick[time.Duration](r, 1, 4, 100)
		if s.backoff == mdlLinearBackoff && s.boD == 0 {
			s.boD = time.Millisecond
		}
		add("WithOpenBackoff")
	}
	if r.IntN(10) < 6 {
		s.trials = 1 + r.IntN(4)
		add("WithHalfOpenTrials")
	}
	if r.IntN(2) == 0 {
		trials := 1
		if s.trials > 0 {
			trials = s.trials
		}
		s.successes = 1 + r.IntN(trials)
		add("WithSuccessThreshold")
	}
	if r.IntN(2) == 0 {
		s.exclude = true
		add("WithExclude")
	}
	if r.IntN(2) == 0 {
		s.isFailure = true
		add("WithIsFailure")
	}
	if r.IntN(7) == 0 {
		s.bulk = 1 + r.IntN(3)
		add("WithBulkhead")
	}
	// At least one trip rule on, or New rightly refuses the options.
	if s.has("WithConsecutiveFailures") && s.consecutive == 0 && s.has("WithFailureRate") && s.rate == 0 && !s.has("WithSlowCalls") {
		s.consecutive = 1 + r.IntN(4)
	}
	r.Shuffle(len(s.opts), func(i, j int) { s.opts[i], s.opts[j] = s.opts[j], s.opts[i] })

	// Steps. Each sequence has its own mix, so that some trip at once and some
	// stay healthy long enough to fill a window.
	failP := mdlPick(r, 0.1, 0.3, 0.5, 0.8, 0.95)
	wCall, wAllow, wAdvance := 30+r.IntN(20), r.IntN(12), 15+r.IntN(20)
	n := 1 + r.IntN(maxOps)
	delta := func() int64 {
		return mdlPick(r, -1, 0, 0, 1, -int64(time.Millisecond), int64(time.Millisecond))
	}
	for i := 0; i < n; i++ {
		var op mdlOp
		x := r.IntN(wCall + 3*wAllow + wAdvance + 19)
		switch {
		case x < wCall:
			op.kind = mdlOpCall
			op.fallback = r.IntN(5) == 0
		case x < wCall+wAllow:
			op.kind = mdlOpBegin
		case x < wCall+2*wAllow+wAllow/2:
			op.kind = mdlOpEnd
		case x < wCall+3*wAllow:
			op.kind = mdlOpDoneAgain
		case x < wCall+3*wAllow+wAdvance:
			op.kind = mdlOpAdvance
		default:
			op.kind = mdlPick(r, mdlOpState, mdlOpState, mdlOpState, mdlOpMetrics, mdlOpMetrics, mdlOpMetrics, mdlOpMetrics,
				mdlOpForceOpen, mdlOpDisable, mdlOpReset, mdlOpReset, mdlOpAdvance, mdlOpAdvance, mdlOpAdvance,
				mdlOpBegin, mdlOpEnd, mdlOpCall, mdlOpCall, mdlOpCall)
		}
		op.pick = r.IntN(8)
		switch op.kind {
		case mdlOpCall, mdlOpEnd, mdlOpBegin:
			if r.Float64() < failP {
				op.res = mdlPick(r, mdlResFail, mdlResFail, mdlResFail, mdlResFail, mdlResFail, mdlResHint, mdlResPanic)
				if r.IntN(10) == 0 {
					op.ctx = mdlCtxDeadline
				}
			} else {
				op.res = mdlPick(r, mdlResOK, mdlResOK, mdlResOK, mdlResOK, mdlResOK, mdlResExcluded, mdlResBenign)
				if r.IntN(12) == 0 {
					op.ctx = mdlCtxCanceled
				}
			}
			if op.res == mdlResPanic && (op.kind != mdlOpCall || op.ctx != mdlCtxLive) {
				op.res = mdlResFail // a panic only through Execute, and not mixed with a canceled caller
			}
			op.hint = mdlPick(r, 10*time.Millisecond, 2*time.Second, 5*time.Minute)
			switch r.IntN(10) {
			case 0, 1:
				op.dur = mdlDur{kind: mdlDurSlow, delta: delta()}
			case 2:
				op.dur = mdlDur{kind: mdlDurBucket, delta: delta()}
			case 3:
				op.dur = mdlDur{ns: r.Int64N(int64(2 * time.Second))}
			}
		case mdlOpAdvance:
			switch r.IntN(8) {
			case 0, 1:
				op.dur = mdlDur{ns: r.Int64N(mdlPick(r, int64(time.Millisecond), int64(time.Second), int64(10*time.Second)))}
			case 2, 3:
				op.dur = mdlDur{kind: mdlDurBucket, delta: delta()}
			case 4, 5:
				op.dur = mdlDur{kind: mdlDurUntil, delta: delta()}
			case 6:
				op.dur = mdlDur{kind: mdlDurWindow, delta: delta()}
			case 7:
				op.dur = mdlDur{kind: mdlPick(r, mdlDurSlow, mdlDurOpenDelta), delta: delta()}
			}
		}
		s.ops = append(s.ops, op)
	}
	return s
}

// ---------------------------------------------------------------------------
// Replay: both breakers, step by step.

type mdlAllow struct {
	done func(error)
	p    *mdlPermit
	ctx  mdlCtxKind
	stop context.CancelFunc
}

type mdlStats struct {
	ops, trips, halfOpen, closes, reopens, lazy, tooMany, bulkFull, forced, dropped int
}

// mdlClock is the time a sequence runs on: a circuittest.Clock, or
// mdlBubbleClock.
type mdlClock interface {
	Now() time.Time
	Advance(d time.Duration)
}

// mdlBubbleClock is the fake time of the synctest bubble a sequence runs in.
type mdlBubbleClock struct{}

func (mdlBubbleClock) Now() time.Time { return time.Now() }

// Advance moves the bubble's time on by d: its sleep returns once the
// bubble's clock has moved, at once in real time. Wait lets every timer due
// by then (the breaker's ticks) finish, as a runtime with time to spare
// would have.
func (mdlBubbleClock) Advance(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

type mdlRunner struct {
	cfg     mdlConfig
	clk     mdlClock
	base    time.Time
	b       *circuit.Breaker[int]
	m       *mdlModel
	mu      sync.Mutex
	got     []circuit.Transition
	pending []*mdlAllow
	ended   []*mdlAllow
	stats   *mdlStats
}

func (r *mdlRunner) now() int64 { return int64(r.clk.Now().Sub(r.base)) }

func (r *mdlRunner) resolve(d mdlDur) time.Duration {
	now := r.now()
	var v int64
	switch d.kind {
	case mdlDurFixed:
		return time.Duration(d.ns)
	case mdlDurBucket:
		w := r.cfg.width
		v = w - (((r.m.baseUnix+now)%w)+w)%w + d.delta
	case mdlDurUntil:
		if r.m.state == circuit.Open {
			v = r.m.until - now + d.delta
		} else {
			v = int64(time.Second) + d.delta
		}
	case mdlDurSlow:
		v = r.cfg.slowThr + d.delta
		if r.cfg.slowThr == 0 {
			v = int64(100*time.Millisecond) + d.delta
		}
	case mdlDurWindow:
		v = r.cfg.width*r.cfg.buckets + d.delta
	case mdlDurOpenDelta:
		v = r.cfg.openFor(1) + d.delta
	}
	return time.Duration(max(v, 0))
}

func (r *mdlRunner) context(k mdlCtxKind) (context.Context, context.CancelFunc) {
	switch k {
	case mdlCtxCanceled:
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		return ctx, cancel
	case mdlCtxDeadline:
		return context.WithDeadline(context.Background(), time.Unix(0, 1))
	}
	return context.Background(), func() {}
}

func (r *mdlRunner) fnError(op mdlOp) error {
	switch op.res {
	case mdlResFail, mdlResPanic:
		return mdlErrFail
	case mdlResExcluded:
		return fmt.Errorf("validation: %w", mdlErrExcluded)
	case mdlResBenign:
		return fmt.Errorf("not found: %w", mdlErrBenign)
	case mdlResHint:
		return mdlHintErr{op.hint}
	}
	return nil
}

// classify is rule 1 for the model: how a call's result counts, and the
// minimum open time its error asks for.
func (r *mdlRunner) classify(res mdlResult, ctx mdlCtxKind, err error) (mdlOutcome, int64) {
	switch {
	case res == mdlResPanic:
		return mdlFailure, 0
	case ctx == mdlCtxCanceled:
		return mdlExcluded, 0
	case ctx == mdlCtxDeadline:
		return mdlFailure, 0
	case err == nil:
		return mdlSuccess, 0
	case r.cfg.exclude && errors.Is(err, mdlErrExcluded):
		return mdlExcluded, 0
	case r.cfg.isFailure && errors.Is(err, mdlErrBenign):
		return mdlSuccess, 0
	}
	var h mdlHintErr
	if errors.As(err, &h) {
		return mdlFailure, h.hint()
	}
	return mdlFailure, 0
}

func (r *mdlRunner) checkRejection(want mdlRejection, err error) error {
	now := r.now()
	switch want {
	case mdlRejOpen:
		if !errors.Is(err, circuit.ErrOpen) {
			return fmt.Errorf("rejection: want ErrOpen, got %v", err)
		}
		d, ok := circuit.RetryAfter(err)
		if wantD := time.Duration(r.m.until - now); !ok || d != wantD {
			return fmt.Errorf("RetryAfter: want %v true, got %v %v", wantD, d, ok)
		}
	case mdlRejForced:
		if !errors.Is(err, circuit.ErrOpen) {
			return fmt.Errorf("rejection: want ErrOpen (forced), got %v", err)
		}
		if d, ok := circuit.RetryAfter(err); ok {
			return fmt.Errorf("RetryAfter of a forced-open rejection: want false, got %v true", d)
		}
	case mdlRejTooMany:
		if !errors.Is(err, circuit.ErrTooManyRequests) {
			return fmt.Errorf("rejection: want ErrTooManyRequests, got %v", err)
		}
	case mdlRejBulkhead:
		if !errors.Is(err, circuit.ErrBulkheadFull) {
			return fmt.Errorf("rejection: want ErrBulkheadFull, got %v", err)
		}
	}
	switch want {
	case mdlRejTooMany:
		r.stats.tooMany++
	case mdlRejBulkhead:
		r.stats.bulkFull++
	}
	return nil
}

func (r *mdlRunner) step(op mdlOp) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("unexpected panic: %v", p)
		}
	}()
	switch op.kind {
	case mdlOpCall:
		return r.call(op)
	case mdlOpBegin:
		ctx, stop := r.context(op.ctx)
		p, rej := r.m.admit(r.now())
		done, err := r.b.Allow(ctx)
		if p == nil {
			stop()
			if err == nil {
				return fmt.Errorf("Allow admitted the call; the model rejects it with %v", rej)
			}
			done(mdlErrFail) // a rejection's done does nothing
			return r.checkRejection(rej, err)
		}
		if err != nil {
			stop()
			return fmt.Errorf("Allow rejected the call with %v; the model admits it", err)
		}
		r.pending = append(r.pending, &mdlAllow{done: done, p: p, ctx: op.ctx, stop: stop})
	case mdlOpEnd:
		if len(r.pending) == 0 {
			return nil
		}
		i := op.pick % len(r.pending)
		a := r.pending[i]
		r.pending = append(r.pending[:i], r.pending[i+1:]...)
		r.ended = append(r.ended, a)
		ferr := r.fnError(op)
		a.done(ferr)
		a.stop()
		o, hint := r.classify(op.res, a.ctx, ferr)
		if a.p.round != r.m.round {
			r.stats.dropped++
		}
		r.m.complete(a.p, o, hint, r.now())
	case mdlOpDoneAgain:
		if len(r.ended) > 0 {
			r.ended[op.pick%len(r.ended)].done(mdlErrFail)
		}
	case mdlOpAdvance:
		r.clk.Advance(r.resolve(op.dur))
	case mdlOpState:
		got := r.b.State()
		if want := r.m.observe(r.now()); got != want {
			return fmt.Errorf("State(): want %v, got %v", want, got)
		}
	case mdlOpMetrics:
		got := r.b.Metrics()
		if d := mdlDiffMetrics(r.m.metrics(r.now(), true), got); d != "" {
			return fmt.Errorf("Metrics(): %s", d)
		}
	case mdlOpForceOpen:
		r.b.ForceOpen()
		r.m.force(circuit.ForcedOpen, r.now())
		r.stats.forced++
	case mdlOpDisable:
		r.b.Disable()
		r.m.force(circuit.Disabled, r.now())
	case mdlOpReset:
		r.b.Reset()
		r.m.force(circuit.Closed, r.now())
	}
	return nil
}

var mdlPanicValue = &struct{ s string }{"model: fn panicked"}

func (r *mdlRunner) call(op mdlOp) error {
	d := r.resolve(op.dur)
	ctx, stop := r.context(op.ctx)
	defer stop()
	p, rej := r.m.admit(r.now())
	ferr := r.fnError(op)
	called, fellBack := false, error(nil)
	fn := func(context.Context) (int, error) {
		called = true
		r.clk.Advance(d)
		if op.res == mdlResPanic {
			panic(mdlPanicValue)
		}
		return 7, ferr
	}
	var (
		v         int
		err       error
		recovered any
	)
	func() {
		defer func() { recovered = recover() }()
		if op.fallback {
			v, err = r.b.ExecuteWithFallback(ctx, fn, func(_ context.Context, err error) (int, error) {
				fellBack = err
				return -1, mdlErrFallback
			})
		} else {
			v, err = r.b.Execute(ctx, fn)
		}
	}()
	if p == nil {
		if called {
			return fmt.Errorf("fn was called; the model rejects the call with %v", rej)
		}
		if recovered != nil {
			return fmt.Errorf("a rejected call panicked: %v", recovered)
		}
		if op.fallback {
			if v != -1 || err != mdlErrFallback {
				return fmt.Errorf("fallback's result not returned: %v, %v", v, err)
			}
			err = fellBack
		}
		return r.checkRejection(rej, err)
	}
	if !called {
		return fmt.Errorf("fn was not called (error %v); the model admits the call", err)
	}
	o, hint := r.classify(op.res, op.ctx, ferr)
	r.m.complete(p, o, hint, r.now())
	switch {
	case op.res == mdlResPanic:
		if recovered != mdlPanicValue {
			return fmt.Errorf("the panic did not go on with its value: recovered %v", recovered)
		}
	case recovered != nil:
		return fmt.Errorf("unexpected panic: %v", recovered)
	case op.fallback && ferr != nil:
		if fellBack != ferr || v != -1 || err != mdlErrFallback {
			return fmt.Errorf("fallback: got %v, returned %v, %v; want it called with %v", fellBack, v, err, ferr)
		}
	case err != ferr || v != 7:
		return fmt.Errorf("Execute returned %v, %v; want 7, %v", v, err, ferr)
	}
	return nil
}

func mdlDiffMetrics(want, got circuit.Metrics) string {
	var d []string
	add := func(name string, w, g any) {
		if w != g {
			d = append(d, fmt.Sprintf("%s want %v got %v", name, w, g))
		}
	}
	add("State", want.State, got.State)
	add("Calls", want.Calls, got.Calls)
	add("Successes", want.Successes, got.Successes)
	add("Failures", want.Failures, got.Failures)
	add("SlowCalls", want.SlowCalls, got.SlowCalls)
	add("Excluded", want.Excluded, got.Excluded)
	add("FailureRate", want.FailureRate, got.FailureRate)
	add("SlowCallRate", want.SlowCallRate, got.SlowCallRate)
	add("ConsecutiveFailures", want.ConsecutiveFailures, got.ConsecutiveFailures)
	add("InFlight", want.InFlight, got.InFlight)
	add("Hung", want.Hung, got.Hung)
	add("Rejected", want.Rejected, got.Rejected)
	add("Trips", want.Trips, got.Trips)
	return strings.Join(d, "; ")
}

// compare checks what the breaker shows without being asked to change:
// circuit.Peek and the transitions delivered so far.
func (r *mdlRunner) compare() error {
	if d := mdlDiffMetrics(r.m.metrics(r.now(), false), circuit.Peek(r.b)); d != "" {
		return fmt.Errorf("state as it stands: %s", d)
	}
	r.mu.Lock()
	got := append([]circuit.Transition(nil), r.got...)
	r.mu.Unlock()
	want := r.m.trans
	for i := 0; i < max(len(got), len(want)); i++ {
		if i >= len(want) {
			return fmt.Errorf("transition %d: unexpected %v→%v at %v (%q)", i, got[i].From, got[i].To,
				time.Duration(got[i].At.Sub(r.base)), got[i].Reason)
		}
		w := want[i]
		if i >= len(got) {
			return fmt.Errorf("transition %d: %v→%v at %v (%v) not delivered", i, w.from, w.to, time.Duration(w.at), w.reason)
		}
		g := got[i]
		if g.From != w.from || g.To != w.to || !g.At.Equal(r.base.Add(time.Duration(w.at))) ||
			!w.reason.matches(g.Reason) || g.Name != r.cfg.name {
			return fmt.Errorf("transition %d: want %v→%v at %v (%v), got %v→%v at %v (%q) named %q", i,
				w.from, w.to, time.Duration(w.at), w.reason,
				g.From, g.To, time.Duration(g.At.Sub(r.base)), g.Reason, g.Name)
		}
	}
	return nil
}

func (r *mdlRunner) describeModel() string {
	m := r.m
	s := fmt.Sprintf("model: %v", m.state)
	switch m.state {
	case circuit.Open:
		s += fmt.Sprintf(" until %v", time.Duration(m.until))
	case circuit.HalfOpen:
		s += fmt.Sprintf(" admitted %d succeeded %d", m.admitted, m.succ)
	}
	n := m.counts(r.now())
	return s + fmt.Sprintf(", window s=%d f=%d slow=%d ex=%d, streak %d, pending %d", n.successes, n.failures, n.slow, n.excluded, m.cf, len(r.pending))
}

// mdlReplay runs spec and returns the index of the first step after which the
// breaker and the model disagree, and how; -1 and nil when they agree
// throughout. trace, if not nil, gets every step. A spec on the monotonic
// clock runs in a bubble of its own.
func mdlReplay(t *testing.T, spec *mdlSpec, trace *strings.Builder, stats *mdlStats) (at int, err error) {
	if !spec.mono {
		return mdlRun(spec, circuittest.NewClock(spec.start), spec.start, trace, stats)
	}
	synctest.Test(t, func(*testing.T) {
		at, err = mdlRun(spec, mdlBubbleClock{}, time.Now(), trace, stats)
	})
	return at, err
}

// mdlRun is mdlReplay on clock clk, which reads start when the sequence
// begins.
func mdlRun(spec *mdlSpec, clk mdlClock, start time.Time, trace *strings.Builder, stats *mdlStats) (int, error) {
	if stats == nil {
		stats = new(mdlStats)
	}
	r := &mdlRunner{cfg: spec.config(), clk: clk, base: start, stats: stats}
	r.m = newMdlModel(r.cfg, r.base)
	var ext circuit.Clock
	if c, ok := clk.(*circuittest.Clock); ok {
		ext = c
	}
	b, err := circuit.New[int](spec.options(ext, func(t circuit.Transition) {
		r.mu.Lock()
		r.got = append(r.got, t)
		r.mu.Unlock()
	})...)
	if err != nil {
		return 0, fmt.Errorf("New: %v", err)
	}
	r.b = b
	defer func() {
		for _, a := range r.pending {
			a.stop()
		}
	}()
	for i, op := range spec.ops {
		before := len(r.m.trans)
		err := r.step(op)
		if err == nil {
			err = r.compare()
		}
		stats.ops++
		for _, t := range r.m.trans[before:] {
			switch {
			case t.to == circuit.Open:
				stats.trips++
				if t.from == circuit.HalfOpen {
					stats.reopens++
				}
			case t.to == circuit.HalfOpen:
				stats.halfOpen++
				if op.kind == mdlOpState || op.kind == mdlOpMetrics {
					stats.lazy++
				}
			case t.from == circuit.HalfOpen && t.to == circuit.Closed:
				stats.closes++
			}
		}
		if trace != nil {
			fmt.Fprintf(trace, "%3d  t=%-14v %-52s → %s\n", i, time.Duration(r.now()), op, r.describeModel())
			for _, t := range r.m.trans[before:] {
				fmt.Fprintf(trace, "       transition %v→%v at %v (%v)\n", t.from, t.to, time.Duration(t.at), t.reason)
			}
		}
		if err != nil {
			if trace != nil {
				fmt.Fprintf(trace, "       MISMATCH: %v\n", err)
			}
			return i, err
		}
	}
	return -1, nil
}

// mdlShrink removes steps from a failing spec while it still fails, and
// returns the shortest failing spec found within a few seconds.
func mdlShrink(t *testing.T, spec *mdlSpec) *mdlSpec {
	cur := *spec
	at, _ := mdlReplay(t, &cur, nil, nil)
	cur.ops = append([]mdlOp(nil), cur.ops[:at+1]...)
	deadline := time.Now().Add(5 * time.Second)
	for changed := true; changed && time.Now().Before(deadline); {
		changed = false
		for i := len(cur.ops) - 1; i >= 0 && time.Now().Before(deadline); i-- {
			try := cur
			try.ops = append(append([]mdlOp(nil), cur.ops[:i]...), cur.ops[i+1:]...)
			if at, err := mdlReplay(t, &try, nil, nil); err != nil {
				try.ops = try.ops[:at+1]
				cur = try
				changed = true
			}
		}
	}
	return &cur
}

func mdlReport(t *testing.T, spec *mdlSpec, err error) string {
	min := mdlShrink(t, spec)
	var trace strings.Builder
	mdlReplay(t, min, &trace, nil)
	flags := ""
	if *mdlMaxOps != 60 {
		flags += fmt.Sprintf(" -model.ops=%d", *mdlMaxOps)
	}
	return fmt.Sprintf("seed %d: the breaker and the model disagree: %v\nreplay: go test -run TestModelRandomSequences -model.seed=%d%s -v .\n"+
		"shrunk to %d of %d steps:\n%s\n%s", spec.seed, err, spec.seed, flags, len(min.ops), len(spec.ops), min.describe(), trace.String())
}

func TestModelRandomSequences(t *testing.T) {
	if *mdlSeed != 0 {
		spec := mdlGenerate(*mdlSeed, *mdlMaxOps)
		var trace strings.Builder
		_, err := mdlReplay(t, spec, &trace, nil)
		t.Logf("seed %d\n%s\n%s", *mdlSeed, spec.describe(), trace.String())
		if err != nil {
			t.Fatal(mdlReport(t, spec, err))
		}
		return
	}
	base := *mdlBase
	if base == 0 {
		base = uint64(time.Now().UnixNano())
	}
	n := *mdlSequences
	if testing.Short() {
		n = min(n, 1000)
	}
	var stats mdlStats
	for i := 0; i < n; i++ {
		seed := base + uint64(i)
		spec := mdlGenerate(seed, *mdlMaxOps)
		if _, err := mdlReplay(t, spec, nil, &stats); err != nil {
			t.Fatal(mdlReport(t, spec, err))
		}
	}
	t.Logf("%d sequences from seed %d, %d steps: %d trips (%d from half-open), %d half-open rounds (%d noticed by State/Metrics), "+
		"%d closes, %d forced open, %d half-open-full and %d bulkhead-full rejections, %d late outcomes dropped",
		n, base, stats.ops, stats.trips, stats.reopens, stats.halfOpen, stats.lazy, stats.closes, stats.forced,
		stats.tooMany, stats.bulkFull, stats.dropped)
	// The sequences must reach every corner the model checks, or the test
	// proves less than it says.
	if n >= 1000 {
		require.Positive(t, stats.reopens)
		require.Positive(t, stats.lazy)
		require.Positive(t, stats.closes)
		require.Positive(t, stats.tooMany)
		require.Positive(t, stats.bulkFull)
		require.Positive(t, stats.dropped)
	}
}

// mdlRuleSeeds are sequences that reach a rule the random sequences seldom
// do. They run whatever -model.base and -model.sequences say, so that the
// model holds the breaker to these rules on every run.
var mdlRuleSeeds = []struct {
	rule string
	seed uint64
}{
	{"rule 2: a slow call checks the failure-rate rule, a failure the slow-call rule", 435},
	{"rule 3: ForceOpen, Disable and Reset after the open timeout find a half-open breaker", 4},
}

func TestModelSequencesOfRarelyReachedRules(t *testing.T) {
	for _, tc := range mdlRuleSeeds {
		t.Run(tc.rule, func(t *testing.T) {
			spec := mdlGenerate(tc.seed, 60)
			if _, err := mdlReplay(t, spec, nil, nil); err != nil {
				t.Fatal(mdlReport(t, spec, err))
			}
		})
	}
}

// The same two rules through the public API, as a reviewer would write them.

// Rule 2: after a failure or a slow call every trip rule is checked, not only
// the one of the outcome's kind.
func TestModelEveryTripRuleIsCheckedAfterAFailureOrASlowCall(t *testing.T) {
	t.Run("slow success brings calls to minCalls with the failure rate over", func(t *testing.T) {
		clk := circuittest.NewClock(time.Unix(1.7e9, 0))
		b := circuit.MustNew[int](circuit.WithClock(clk), circuit.WithCountWindow(8), circuit.WithConsecutiveFailures(0),
			circuit.WithFailureRate(0.5, 5), circuit.WithSlowCalls(100*time.Millisecond, 0.5))
		for i := 0; i < 4; i++ {
			b.Execute(context.Background(), func(context.Context) (int, error) { return 0, mdlErrFail })
		}
		require.Equal(t, circuit.Closed, b.State(), "4 calls are below minCalls")
		b.Execute(context.Background(), func(context.Context) (int, error) {
			clk.Advance(100 * time.Millisecond)
			return 1, nil
		})
		m := b.Metrics()
		require.Equal(t, 5, m.Calls)
		require.Equal(t, 0.8, m.FailureRate)
		require.Equal(t, circuit.Open, m.State, "a slow call checks every trip rule: failure rate 80% >= 50% over 5 calls")
	})
	t.Run("fast failure brings calls to minCalls with the slow-call rate over", func(t *testing.T) {
		clk := circuittest.NewClock(time.Unix(1.7e9, 0))
		b := circuit.MustNew[int](circuit.WithClock(clk), circuit.WithCountWindow(8), circuit.WithConsecutiveFailures(0),
			circuit.WithFailureRate(0, 4), circuit.WithSlowCalls(100*time.Millisecond, 0.5))
		for i := 0; i < 3; i++ {
			b.Execute(context.Background(), func(context.Context) (int, error) {
				clk.Advance(100 * time.Millisecond)
				return 1, nil
			})
		}
		require.Equal(t, circuit.Closed, b.State(), "3 calls are below minCalls")
		b.Execute(context.Background(), func(context.Context) (int, error) { return 0, mdlErrFail })
		m := b.Metrics()
		require.Equal(t, 4, m.Calls)
		require.Equal(t, 0.75, m.SlowCallRate)
		require.Equal(t, circuit.Open, m.State, "a failure checks every trip rule: slow-call rate 75% >= 50% over 4 calls")
	})
}

// Rule 3 before rule 5: ForceOpen, Disable and Reset after the open timeout
// find a half-open breaker; Open→HalfOpen is reported first, at the end of
// the open period.
func TestModelControlsAfterTheOpenTimeoutLeaveAHalfOpenBreaker(t *testing.T) {
	start := time.Unix(1.7e9, 0)
	for _, tc := range []struct {
		name  string
		force func(*circuit.Breaker[int])
		to    circuit.State
	}{
		{"ForceOpen", (*circuit.Breaker[int]).ForceOpen, circuit.ForcedOpen},
		{"Disable", (*circuit.Breaker[int]).Disable, circuit.Disabled},
		{"Reset", (*circuit.Breaker[int]).Reset, circuit.Closed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := circuittest.NewClock(start)
			var mu sync.Mutex
			var got []circuit.Transition
			b := circuit.MustNew[int](circuit.WithClock(clk), circuit.WithConsecutiveFailures(1),
				circuit.WithOpenTimeout(time.Second), circuit.WithOnStateChange(func(tr circuit.Transition) {
					mu.Lock()
					got = append(got, tr)
					mu.Unlock()
				}))
			b.Execute(context.Background(), func(context.Context) (int, error) { return 0, mdlErrFail })
			clk.Advance(time.Second + time.Millisecond)
			tc.force(b)
			mu.Lock()
			defer mu.Unlock()
			require.Len(t, got, 3)
			require.Equal(t, []circuit.State{circuit.Open, circuit.HalfOpen}, []circuit.State{got[1].From, got[1].To})
			require.Equal(t, start.Add(time.Second), got[1].At, "the open period ended at its timeout")
			require.Equal(t, []circuit.State{circuit.HalfOpen, tc.to}, []circuit.State{got[2].From, got[2].To})
		})
	}
}
