package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// A short storm prints a row for each setup; the figures themselves depend
// on the machine and are quoted from a full run in the README, not asserted.
func TestAShortStormPrintsEverySetup(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"-duration", "300ms", "-rate", "100", "-capacity", "50"}, &out)
	require.NoError(t, err)
	for _, s := range setups {
		assert.Contains(t, out.String(), s.name)
	}
	assert.Equal(t, 3+len(setups), strings.Count(out.String(), "\n"))
}

func TestBadScenariosAreRefused(t *testing.T) {
	for _, args := range [][]string{{"-rate", "0"}, {"-duration", "-1s"}, {"-attempts", "0"}, {"-nope"}} {
		assert.Error(t, run(context.Background(), args, &bytes.Buffer{}), "%v", args)
	}
}

func TestResultFigures(t *testing.T) {
	r := &result{requests: 10, served: 25, succeeded: 5}
	assert.Equal(t, 2.5, r.amplification())
	assert.Zero(t, r.p99())
}
