package redisstore_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every test closes its breakers (stopping their sync goroutines) and its
// go-redis clients (stopping their pools), so nothing is left running.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
