package circuitgrpc_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/circuitgrpc"
)

func TestInvalidOptions(t *testing.T) {
	cases := []struct {
		name string
		opts []circuitgrpc.Option
		want string
	}{
		{"nil key func", []circuitgrpc.Option{circuitgrpc.WithKey(nil)},
			"circuit: invalid option circuitgrpc.WithKey: nil func"},
		{"no failure codes", []circuitgrpc.Option{circuitgrpc.WithFailureCodes()},
			"circuit: invalid option circuitgrpc.WithFailureCodes: no codes"},
		{"OK is no failure", []circuitgrpc.Option{circuitgrpc.WithFailureCodes(codes.Unavailable, codes.OK)},
			"circuit: invalid option circuitgrpc.WithFailureCodes: code OK cannot be a failure"},
		{"a code gRPC does not define", []circuitgrpc.Option{circuitgrpc.WithFailureCodes(codes.Code(17))},
			"circuit: invalid option circuitgrpc.WithFailureCodes: code Code(17) cannot be a failure"},
		{"nil skip func", []circuitgrpc.Option{circuitgrpc.WithSkip(nil)},
			"circuit: invalid option circuitgrpc.WithSkip: nil func"},
		{"nil Option", []circuitgrpc.Option{circuitgrpc.WithKey(circuitgrpc.ByMethod), nil},
			"circuit: invalid option circuitgrpc.Option: option 1 is nil"},
		{"invalid breaker option: the core's error", []circuitgrpc.Option{
			circuitgrpc.WithBreakerOptions(circuit.WithConsecutiveFailures(-1))},
			"WithConsecutiveFailures"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ic, err := circuitgrpc.New(tc.opts...)
			assert.Nil(t, ic)
			require.ErrorIs(t, err, circuit.ErrInvalidOption)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestEveryInvalidOptionIsReported(t *testing.T) {
	_, err := circuitgrpc.New(circuitgrpc.WithKey(nil), circuitgrpc.WithSkip(nil))
	require.ErrorIs(t, err, circuit.ErrInvalidOption)
	assert.Contains(t, err.Error(), "WithKey")
	assert.Contains(t, err.Error(), "WithSkip")
}

func TestDefaults(t *testing.T) {
	ic, err := circuitgrpc.New()
	require.NoError(t, err)
	require.NotNil(t, ic.Unary())
	require.NotNil(t, ic.Stream())
	ic.Breakers(func(string, circuit.Metrics) bool {
		t.Error("no breaker before the first call")
		return false
	})
}
