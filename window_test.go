package circuit

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEpochIsExactDivision holds the reciprocal-multiplication epoch against
// integer division, at and around bucket edges and far from the origin.
func TestEpochIsExactDivision(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	base := time.Unix(1_800_000_000, 123_456_789)
	for _, width := range []int64{int64(time.Millisecond), 3_000_000_007, int64(time.Second), 7 * int64(time.Hour) / 13} {
		w := newTimeWindow(width*10, 10, base)
		require.Equal(t, width, w.width)
		check := func(now int64) {
			if got, want := w.epoch(now), (now+w.phase)/width; got != want {
				t.Fatalf("width %d now %d: epoch %d, want %d", width, now, got, want)
			}
		}
		for k := int64(0); k < 2000; k++ {
			edge := k*width - w.phase
			for _, d := range []int64{-1, 0, 1} {
				if edge+d >= 0 {
					check(edge + d)
				}
			}
		}
		for i := 0; i < 100_000; i++ {
			check(r.Int64N(1 << 60))
		}
		assert.Equal(t, base.UnixNano()/width, w.epoch(0)+w.unixEpoch0, "local epochs line up with Unix time")
	}
}

func TestTimeWindowRingIsPowerOfTwo(t *testing.T) {
	for buckets, ring := range map[int]int{1: 1, 2: 2, 3: 4, 10: 16, 16: 16, 17: 32} {
		w := newTimeWindow(int64(time.Second)*int64(buckets), buckets, time.Unix(0, 0))
		assert.Len(t, w.buckets(), ring)
		assert.Equal(t, int64(buckets), w.n)
	}
}
