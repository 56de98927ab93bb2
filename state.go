package circuit

import (
	"strconv"
	"time"
)

// State is the state of a Breaker.
type State uint8

const (
	// Closed lets calls pass and counts their outcomes.
	Closed State = iota
	// HalfOpen admits a few trial calls to probe the dependency.
	HalfOpen
	// Open rejects every call until the open timeout ends.
	Open
	// ForcedOpen rejects every call until Reset (manual isolation).
	ForcedOpen
	// Disabled lets every call pass and counts it, but never trips (until Reset).
	Disabled
)

// String returns "closed", "half-open", "open", "forced-open" or "disabled".
func (s State) String() string {
	switch s {
	case Closed:
		return "closed"
	case HalfOpen:
		return "half-open"
	case Open:
		return "open"
	case ForcedOpen:
		return "forced-open"
	case Disabled:
		return "disabled"
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// Transition describes one change of a breaker's state, as passed to the
// function given to WithOnStateChange.
type Transition struct {
	Name     string    // the breaker's name
	From, To State     // the states before and after
	At       time.Time // when it happened, by the breaker's clock
	// Reason says why, for people and alerts: "5 consecutive failures",
	// "failure rate 62% >= 50% over 31 calls", "open timeout ended", "reset".
	Reason string
}

// word is the whole state of a breaker packed into one uint64, so that
// admission is a single atomic load and every change a single CAS:
//
//	bits  0..2   State
//	bits  3..18  trial calls admitted in this half-open round
//	bits 19..34  trial calls that succeeded in this half-open round
//	bits 35..63  generation, bumped by every transition
//
// A call remembers the word it was admitted under; when it completes under a
// different generation its outcome belongs to a round that is over, and it is
// dropped rather than counted against the new one. The generation wraps after
// 2^29 transitions, far beyond the life of any call.
type word uint64

const (
	admittedShift = 3
	successShift  = 19
	genShift      = 35
	fieldMask     = 1<<16 - 1
	maxTrials     = fieldMask

	oneAdmitted = word(1) << admittedShift
	oneSuccess  = word(1) << successShift
)

// genMask keeps a generation's 29 bits.
const genMask = 1<<(64-genShift) - 1

// genBefore reports whether generation a comes before b, comparing modulo
// 2^29 as the generation wraps.
func genBefore(a, b uint64) bool {
	d := (b - a) & genMask
	return d != 0 && d < 1<<28
}

func makeWord(s State, gen uint64) word { return word(gen<<genShift) | word(s) }

func (w word) state() State          { return State(w & 7) }
func (w word) admitted() int         { return int(w>>admittedShift) & fieldMask }
func (w word) successes() int        { return int(w>>successShift) & fieldMask }
func (w word) gen() uint64           { return uint64(w >> genShift) }
func (w word) sameRound(v word) bool { return w>>genShift == v>>genShift }

// round holds what a breaker needs while it is Open: when the period ends,
// and the one error value that every caller rejected in it receives, so that
// a rejection allocates nothing.
type round struct {
	gen   uint64
	until int64 // end of the open period, clock nanoseconds
	err   *openError
}
