package circuitotel_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/circuitotel"
	"github.com/seed33933975/circuit/circuittest"
)

// traced runs fn with a context holding a recording span and returns the
// events the span ended with.
func traced(t *testing.T, fn func(ctx context.Context)) []sdktrace.Event {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	provider := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = provider.Shutdown(context.Background()) })
	ctx, span := provider.Tracer("circuitotel_test").Start(context.Background(), "GET /checkout")
	fn(ctx)
	span.End()
	ended := rec.Ended()
	require.Len(t, ended, 1)
	return ended[0].Events()
}

// event is an event's name and attributes, to compare.
type event struct {
	Name  string
	Attrs map[attribute.Key]attribute.Value
}

func events(es []sdktrace.Event) []event {
	out := make([]event, 0, len(es))
	for _, e := range es {
		attrs := map[attribute.Key]attribute.Value{}
		for _, kv := range e.Attributes {
			attrs[kv.Key] = kv.Value
		}
		out = append(out, event{e.Name, attrs})
	}
	return out
}

func newTracedBreaker(t *testing.T, opts ...circuit.Option) (*circuit.Breaker[int], *circuittest.Clock) {
	return newBreaker(t, "payments", append([]circuit.Option{circuit.WithObserver(circuitotel.SpanEvents()),
		circuit.WithConsecutiveFailures(2), circuit.WithOpenTimeout(30 * time.Second)}, opts...)...)
}

// The call that trips the breaker: its failure, then the transition it
// caused.
func TestSpanEventsOfATrippingCall(t *testing.T) {
	b, clk := newTracedBreaker(t)
	calls(b, clk, 1, errDown)
	got := traced(t, func(ctx context.Context) {
		require.ErrorIs(t, call(ctx, b, clk, 0, errDown), errDown)
	})
	require.Equal(t, circuit.Open, b.State())
	assert.Equal(t, []event{
		{"circuit.failure", map[attribute.Key]attribute.Value{
			"circuit.name":  attribute.StringValue("payments"),
			"error.message": attribute.StringValue("dependency down"),
		}},
		{"circuit.transition", map[attribute.Key]attribute.Value{
			"circuit.name":   attribute.StringValue("payments"),
			"circuit.from":   attribute.StringValue("closed"),
			"circuit.to":     attribute.StringValue("open"),
			"circuit.reason": attribute.StringValue("2 consecutive failures"),
		}},
	}, events(got))
}

// A rejected call: the rejection, with the time left until the breaker lets
// a call through.
func TestSpanEventsOfARejectedCall(t *testing.T) {
	b, clk := newTracedBreaker(t)
	calls(b, clk, 2, errDown)
	clk.Advance(10 * time.Second)
	var rejection error
	got := traced(t, func(ctx context.Context) {
		rejection = call(ctx, b, clk, 0, nil)
	})
	require.ErrorIs(t, rejection, circuit.ErrOpen)
	assert.Equal(t, []event{
		{"circuit.rejected", map[attribute.Key]attribute.Value{
			"circuit.name":        attribute.StringValue("payments"),
			"error.message":       attribute.StringValue(rejection.Error()),
			"circuit.retry_after": attribute.Float64Value(20),
		}},
	}, events(got))
}

// A forced-open breaker's rejection has no time left to tell.
func TestSpanEventsOfAForcedOpenRejection(t *testing.T) {
	b, clk := newTracedBreaker(t)
	b.ForceOpen()
	got := traced(t, func(ctx context.Context) {
		require.ErrorIs(t, call(ctx, b, clk, 0, nil), circuit.ErrOpen)
	})
	assert.Equal(t, []event{
		{"circuit.rejected", map[attribute.Key]attribute.Value{
			"circuit.name":  attribute.StringValue("payments"),
			"error.message": attribute.StringValue(`circuit: breaker "payments" is forced open`),
		}},
	}, events(got))
}

// The trial call that closes a breaker whose open timeout has ended: a
// success, so no event of its own, and both transitions it caused, in
// order (it was the first to notice the timeout's end).
func TestSpanEventsOfAClosingTrial(t *testing.T) {
	b, clk := newTracedBreaker(t)
	calls(b, clk, 2, errDown)
	clk.Advance(30 * time.Second)
	got := traced(t, func(ctx context.Context) { require.NoError(t, call(ctx, b, clk, 0, nil)) })
	require.Equal(t, circuit.Closed, b.State())
	assert.Equal(t, []event{
		{"circuit.transition", map[attribute.Key]attribute.Value{
			"circuit.name":   attribute.StringValue("payments"),
			"circuit.from":   attribute.StringValue("open"),
			"circuit.to":     attribute.StringValue("half_open"),
			"circuit.reason": attribute.StringValue("open timeout ended"),
		}},
		{"circuit.transition", map[attribute.Key]attribute.Value{
			"circuit.name":   attribute.StringValue("payments"),
			"circuit.from":   attribute.StringValue("half_open"),
			"circuit.to":     attribute.StringValue("closed"),
			"circuit.reason": attribute.StringValue("1 trial call succeeded"),
		}},
	}, events(got))
}

// Successful and excluded calls that change nothing add no event.
func TestSpanEventsQuietCalls(t *testing.T) {
	b, clk := newTracedBreaker(t)
	got := traced(t, func(ctx context.Context) {
		require.NoError(t, call(ctx, b, clk, 0, nil))
		require.ErrorIs(t, call(ctx, b, clk, 0, errExcluded), errExcluded)
	})
	assert.Empty(t, got)
}

// Without a recording span the observer does nothing, and costs nothing.
func TestSpanEventsWithoutASpan(t *testing.T) {
	obs := circuitotel.SpanEvents()
	o := circuit.Observation{Name: "payments", Outcome: circuit.OutcomeFailure, Err: errDown}
	ctx := trace.ContextWithSpan(context.Background(), trace.SpanFromContext(context.Background()))
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		obs(context.Background(), o)
		obs(ctx, o)
	}))
}

// An observation the core could not give today still reads sensibly: a
// failure without an error, a transition to a state this package does not
// know.
func TestSpanEventsOddObservations(t *testing.T) {
	got := traced(t, func(ctx context.Context) {
		circuitotel.SpanEvents()(ctx, circuit.Observation{Name: "x", Outcome: circuit.OutcomeFailure,
			Changes: []circuit.Transition{{From: circuit.Closed, To: circuit.State(9), Reason: "?"}}})
	})
	assert.Equal(t, []event{
		{"circuit.failure", map[attribute.Key]attribute.Value{
			"circuit.name": attribute.StringValue("x"), "error.message": attribute.StringValue(""),
		}},
		{"circuit.transition", map[attribute.Key]attribute.Value{
			"circuit.name": attribute.StringValue("x"), "circuit.from": attribute.StringValue("closed"),
			"circuit.to": attribute.StringValue("State(9)"), "circuit.reason": attribute.StringValue("?"),
		}},
	}, events(got))
}
