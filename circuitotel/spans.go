package circuitotel

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/seed33933975/circuit"
)

// The names and attributes of the span events.
const (
	rejectedEvent   = "circuit.rejected"
	failureEvent    = "circuit.failure"
	transitionEvent = "circuit.transition"

	errorKey      = attribute.Key("error.message")
	retryAfterKey = attribute.Key("circuit.retry_after") // seconds
	fromKey       = attribute.Key("circuit.from")
	toKey         = attribute.Key("circuit.to")
	reasonKey     = attribute.Key("circuit.reason")
)

// SpanEvents returns an observer for circuit.WithObserver that adds events
// to the span in the call's context (trace.SpanFromContext), when that span
// is recording:
//
//   - "circuit.rejected" for a call the breaker rejected, with the
//     attributes circuit.name, error.message (the rejection's text) and,
//     while the breaker is open, circuit.retry_after (seconds until it lets
//     a call through);
//   - "circuit.failure" for a call that counted as a failure, with
//     circuit.name and error.message (what the call returned);
//   - "circuit.transition" for each change of state the call caused, in
//     order, after the call's own event, with circuit.name, circuit.from,
//     circuit.to (closed, half_open, open, forced_open, disabled) and
//     circuit.reason (the Transition's Reason, such as
//     "5 consecutive failures").
//
// Successful, excluded and ignored calls add no event unless they caused a
// change of state. The observer does not set the span's status: a failure
// of the dependency is the caller's to report. With no recording span in
// the context it returns at once, allocating nothing.
func SpanEvents() func(context.Context, circuit.Observation) {
	return addSpanEvents
}

func addSpanEvents(ctx context.Context, o circuit.Observation) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	name := nameKey.String(o.Name)
	switch o.Outcome {
	case circuit.OutcomeRejected:
		attrs := []attribute.KeyValue{name, errorKey.String(errText(o.Err))}
		if d, ok := circuit.RetryAfter(o.Err); ok {
			attrs = append(attrs, retryAfterKey.Float64(d.Seconds()))
		}
		span.AddEvent(rejectedEvent, trace.WithAttributes(attrs...))
	case circuit.OutcomeFailure:
		span.AddEvent(failureEvent, trace.WithAttributes(name, errorKey.String(errText(o.Err))))
	}
	for _, tr := range o.Changes {
		span.AddEvent(transitionEvent, trace.WithAttributes(name,
			fromKey.String(stateValue(tr.From)),
			toKey.String(stateValue(tr.To)),
			reasonKey.String(tr.Reason)))
	}
}

// errText returns err's text, or "" for nil.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
