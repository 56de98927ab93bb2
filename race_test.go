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
