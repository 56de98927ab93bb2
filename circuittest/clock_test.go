package circuittest_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"

	"github.com/seed33933975/circuit/circuittest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestClockAdvances(t *testing.T) {
	start := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	c := circuittest.NewClock(start)
	assert.Equal(t, start, c.Now())
	c.Advance(1500 * time.Millisecond)
	assert.Equal(t, start.Add(1500*time.Millisecond), c.Now())
	c.Advance(-time.Hour)
	assert.Equal(t, start.Add(1500*time.Millisecond), c.Now(), "negative advance is ignored")
}

func TestClockConcurrentAdvance(t *testing.T) {
	c := circuittest.NewClock(time.Unix(0, 0))
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				c.Advance(time.Millisecond)
				_ = c.Now()
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, time.Unix(0, 0).Add(1600*time.Millisecond), c.Now())
}
