package testkit_test

import (
	"fmt"
	"time"

	"github.com/admitgate/admit/internal/testkit"
)

// A test hands the code under test a logger writing into a Log and reads
// what it logged; in a test, testkit.NewLog(t) also fails the test if a
// line holds a secret, and testkit.WaitFor(t, ...) waits for the line.
func ExampleLog() {
	var log testkit.Log
	logger := log.Logger().With().Str("component", "outbound").Logger()
	logger.Warn().Str("webhook", "crm").Msg("delivery failed")
	logger.Debug().Str("webhook", "crm").Msg("delivery failed")
	logger.Info().Msg("deliveries caught up")

	fmt.Println(log.Count("delivery failed"), "failures,", log.Count(`"level":"warn"`, "delivery failed"), "at warn")
	// Output: 2 failures, 1 at warn
}

// What a crash test's child says in the moment before it is killed.
func ExampleCollect() {
	lines := make(chan string, 3)
	lines <- "ADMIT K00001 1"
	lines <- "ADMIT K00002 2"
	close(lines) // the child exited

	fmt.Println(testkit.Collect(lines, time.Minute))
	// Output: [ADMIT K00001 1 ADMIT K00002 2]
}

func ExampleClock() {
	clk := testkit.NewClock(time.Date(2026, 12, 5, 17, 0, 0, 0, time.UTC))
	clk.Add(90 * time.Second)
	fmt.Println(clk.Now().Format(time.TimeOnly))
	// Output: 17:01:30
}

func ExampleCountLabel() {
	fmt.Println("tickets=" + testkit.CountLabel(1_000_000) + "/lines=" + testkit.CountLabel(10_000))
	// Output: tickets=1M/lines=10k
}
