package circuitdebug

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/seed33933975/circuit"
)

// snapshot is what the page shows at one moment: the JSON document of
// ?format=json and of each event of ?stream=1. Its schema is in the package
// doc; change both together.
type snapshot struct {
	Time     time.Time      `json:"time"`
	Total    int            `json:"total"`
	States   map[string]int `json:"states"`
	Query    string         `json:"query"`
	Matched  int            `json:"matched"`
	Offset   int            `json:"offset"`
	Limit    int            `json:"limit"`
	Breakers []breakerView  `json:"breakers"`
}

// breakerView is one breaker's row.
type breakerView struct {
	Name                string           `json:"name"`
	State               string           `json:"state"`
	Calls               int              `json:"calls"`
	Successes           int              `json:"successes"`
	Failures            int              `json:"failures"`
	SlowCalls           int              `json:"slow_calls"`
	Excluded            int              `json:"excluded"`
	FailureRate         float64          `json:"failure_rate"`
	SlowCallRate        float64          `json:"slow_call_rate"`
	MinCalls            int              `json:"min_calls"`
	ConsecutiveFailures int              `json:"consecutive_failures"`
	InFlight            int              `json:"in_flight"`
	Hung                int              `json:"hung"`
	Rejected            uint64           `json:"rejected"`
	Trips               uint64           `json:"trips"`
	StoreErrors         uint64           `json:"store_errors"`
	Totals              totalsView       `json:"totals"`
	Transitions         []transitionView `json:"transitions"`

	src int // the index of its Source, to find its History
}

// totalsView is circuit.Totals.
type totalsView struct {
	Successes uint64 `json:"successes"`
	Failures  uint64 `json:"failures"`
	SlowCalls uint64 `json:"slow_calls"`
	Excluded  uint64 `json:"excluded"`
}

// transitionView is a circuit.Transition without the name its row already shows.
type transitionView struct {
	From   string    `json:"from"`
	To     string    `json:"to"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason"`
}

// view is which rows a request asks for.
type view struct {
	q      string // case-insensitive substring of the name; "" matches all
	offset int
	limit  int
}

// entry is one breaker that matches, as read.
type entry struct {
	name string
	m    circuit.Metrics
	src  int // the index of its Source
}

// take reads every breaker of sources and returns the rows v asks for, with
// their transitions, sorted: every breaker that is not Closed first, then by
// name.
func take(sources []circuit.Source, v view, now time.Time) snapshot {
	s := snapshot{Time: now.UTC(), States: map[string]int{}, Query: v.q, Offset: v.offset, Limit: v.limit}
	q := strings.ToLower(v.q)
	var matched []entry
	for i, src := range sources {
		src.Breakers(func(name string, m circuit.Metrics) bool {
			s.Total++
			s.States[m.State.String()]++
			if strings.Contains(strings.ToLower(name), q) {
				matched = append(matched, entry{name, m, i})
			}
			return true
		})
	}
	s.Matched = len(matched)
	// Sorted by index: swapping whole entries costs more than the comparisons.
	order := make([]int, len(matched))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return byUrgencyThenName(&matched[a], &matched[b]) })
	lo := min(v.offset, len(order))
	order = order[lo : lo+min(v.limit, len(order)-lo)]
	s.Breakers = make([]breakerView, len(order))
	for i, k := range order {
		s.Breakers[i] = newBreakerView(matched[k].src, matched[k].name, matched[k].m)
	}
	addTransitions(sources, s.Breakers)
	return s
}

// byUrgencyThenName puts the breakers that are not Closed (open, forced open,
// half-open, disabled: the ones someone looking at the page is there for)
// before the Closed ones, then sorts by name, then by Source.
func byUrgencyThenName(a, b *entry) int {
	return cmp.Or(
		cmp.Compare(urgency(a.m.State), urgency(b.m.State)),
		strings.Compare(a.name, b.name),
		cmp.Compare(a.src, b.src),
	)
}

func urgency(s circuit.State) int {
	if s == circuit.Closed {
		return 1
	}
	return 0
}

func newBreakerView(src int, name string, m circuit.Metrics) breakerView {
	return breakerView{
		Name: name, State: m.State.String(),
		Calls: m.Calls, Successes: m.Successes, Failures: m.Failures,
		SlowCalls: m.SlowCalls, Excluded: m.Excluded,
		FailureRate: finite(m.FailureRate), SlowCallRate: finite(m.SlowCallRate), MinCalls: m.MinCalls,
		ConsecutiveFailures: m.ConsecutiveFailures,
		InFlight:            m.InFlight, Hung: m.Hung,
		Rejected: m.Rejected, Trips: m.Trips, StoreErrors: m.StoreErrors,
		Totals: totalsView{
			Successes: m.Totals.Successes, Failures: m.Totals.Failures,
			SlowCalls: m.Totals.SlowCalls, Excluded: m.Totals.Excluded,
		},
		src: src,
	}
}

// finite is x, or 0 for NaN and the infinities, which JSON cannot carry: a
// Source that is not a breaker might report them.
func finite(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return x
}

// addTransitions fills in the transitions of rows from the sources that keep
// them. A row whose Source is no History keeps nil (JSON null: not known); one
// whose breaker never changed state gets an empty list.
func addTransitions(sources []circuit.Source, rows []breakerView) {
	want := make([]map[string]*breakerView, len(sources))
	for i := range rows {
		r := &rows[i]
		if want[r.src] == nil {
			want[r.src] = map[string]*breakerView{}
		}
		want[r.src][r.Name] = r
	}
	for i, src := range sources {
		h, ok := src.(circuit.History)
		if !ok || len(want[i]) == 0 {
			continue
		}
		// A Group's History visits every member: stop once this source's
		// rows are filled.
		h.Transitions(func(name string, recent []circuit.Transition) bool {
			if r := want[i][name]; r != nil {
				r.Transitions = newTransitionViews(recent)
				delete(want[i], name)
			}
			return len(want[i]) > 0
		})
	}
}

func newTransitionViews(recent []circuit.Transition) []transitionView {
	out := make([]transitionView, len(recent))
	for i, t := range recent {
		out[i] = transitionView{From: t.From.String(), To: t.To.String(), At: t.At.UTC(), Reason: t.Reason}
	}
	return out
}
