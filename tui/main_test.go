package tui

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv("UNIWS_TUI_SIGNAL_CHILD") == "1" {
		signalChild() // TestRunLeavesSignalsToTheCaller's child process
		return
	}
	goleak.VerifyTestMain(m,
		// teatest waits for SIGINT in a goroutine of its own for as long as
		// the test binary lives.
		goleak.IgnoreTopFunction("github.com/charmbracelet/x/exp/teatest.NewTestModel.func2"),
	)
}
