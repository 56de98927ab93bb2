package benchmarks

import (
	"testing"

	"github.com/seed33933975/circuit/internal/floor"
)

// The machine's floor (the core's internal/floor, which the core's own
// benchmarks run too), measured in the same run as the workloads so that the
// targets (DESIGN.md, Performance targets) are ratios that hold on any
// machine; cmd/benchtable divides each workload by its floor (the "× floor"
// column) and holds the targets against them.

func BenchmarkFloorClock(b *testing.B)               { floor.Clock(b) }
func BenchmarkFloorAtomic(b *testing.B)              { floor.Atomic(b) }
func BenchmarkFloorClockAtomic(b *testing.B)         { floor.ClockAtomic(b) }
func BenchmarkFloorClockAtomicParallel(b *testing.B) { floor.ClockAtomicParallel(b) }
func BenchmarkFloorExecute(b *testing.B)             { floor.Execute(b) }
func BenchmarkFloorExecuteAtomic(b *testing.B)       { floor.ExecuteAtomic(b) }
func BenchmarkFloorFuncAlloc(b *testing.B)           { floor.FuncAlloc(b) }
func BenchmarkFloorExecuteWindow(b *testing.B)       { floor.ExecuteWindow(b) }
func BenchmarkFloorExecuteRules(b *testing.B)        { floor.ExecuteRules(b) }
func BenchmarkFloorReject(b *testing.B)              { floor.Reject(b) }
func BenchmarkFloorRead(b *testing.B)                { floor.Read(b) }
func BenchmarkFloorAllowDone(b *testing.B)           { floor.AllowDone(b) }
