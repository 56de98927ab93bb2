package circuit

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Races that the concurrent tests found now and then, each pinned here at
// the interleaving that went wrong.

// A trip that a failed trial publishes while a sync is under way survives
// that sync, whose read of the breaker's word may predate the trip.
func TestPublishOutlivesAnOlderWord(t *testing.T) {
	s := &sharer{publish: &Trip{Round: 1}, publishGen: 3}
	assert.False(t, s.publishOver(makeWord(HalfOpen, 2)), "a word read before the trip")
	assert.False(t, s.publishOver(makeWord(Open, 3)), "the trip's own round")
	assert.True(t, s.publishOver(makeWord(HalfOpen, 4)), "the round after it")
	assert.True(t, s.publishOver(makeWord(Closed, 5)))

	s.publishGen = genMask // across the generation's wrap
	assert.False(t, s.publishOver(makeWord(HalfOpen, genMask-1)))
	assert.True(t, s.publishOver(makeWord(HalfOpen, 0)))

	s.publish = nil
	assert.False(t, s.publishOver(makeWord(Closed, 9)), "nothing to publish")
}

// A change stores the next round's hung-call tracker before the breaker's
// word. An admission that read the word just before must not count hung
// calls in that empty tracker and go ahead into a round they are ending.
func TestHungTripSeesAChangeUnderWay(t *testing.T) {
	b, err := New[int](WithHungCalls(time.Second, 1))
	require.NoError(t, err)
	c := &b.c
	w := word(c.word.Load())
	require.Equal(t, Closed, w.state())
	c.hung.Store(newHungTracker(int64(time.Second), w.gen()+1))
	assert.True(t, c.hungTrip(w, &lazyNow{clk: &c.clk}), "w is over: look again")
	assert.Equal(t, Closed, word(c.word.Load()).state(), "and nothing tripped")
}

// A sync that applies a new cluster trip sets the lease word for that trip's
// half-open round before the breaker's state moves. A call of the half-open
// round the breaker is still in must find no trial to take then, not the
// full count a replica on its own would have.
func TestProbesOfARoundTheLeaseDoesNotName(t *testing.T) {
	s := &sharer{trials: 2}
	s.healthy.Store(true)
	s.clk = &clock{base: time.Now()}
	s.grantUntil.Store(int64(time.Hour))
	s.lease.Store(7<<leaseBits | 1)
	assert.Equal(t, 1, s.probes(7), "the round the lease names: its grant")
	assert.Equal(t, 0, s.probes(5), "an older round: no trial")
	s.lease.Store(0)
	assert.Equal(t, 2, s.probes(5), "no lease: a replica on its own")
	s.lease.Store(7<<leaseBits | 1)
	s.healthy.Store(false)
	assert.Equal(t, 2, s.probes(5), "a failing store: local state rules")
}
