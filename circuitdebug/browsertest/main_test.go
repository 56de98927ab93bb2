package browsertest

import (
	"testing"

	"go.uber.org/goleak"
)

// The browser, its pipes and the test server all stop before the test
// returns: no goroutine is left, and none is ignored.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
