package vm

import "testing"

func TestStateFeed(t *testing.T) {
	f := NewStateFeed(StateStarting)
	slow, _ := f.Subscribe()
	fast, cancel := f.Subscribe()
	if f.Set(StateStarting) {
		t.Error("setting the same state is a change")
	}
	f.Set(StateRunning)
	if s := <-fast; s != StateRunning {
		t.Errorf("fast got %s", s)
	}
	cancel()
	if _, ok := <-fast; ok {
		t.Error("a cancelled subscription is still open")
	}
	// The slow one never reads while many changes go by: it keeps the latest.
	for i := 0; i < 3*feedBuffer; i++ {
		f.Set(StatePaused)
		f.Set(StateRunning)
	}
	f.Set(StateStopped)
	var last State
	n := 0
	for s := range slow {
		last = s
		n++
	}
	if last != StateStopped || n > feedBuffer {
		t.Errorf("slow subscriber got %d changes ending in %s; want at most %d ending in stopped", n, last, feedBuffer)
	}
	if f.Set(StateRunning) || f.State() != StateStopped || !f.Ended() {
		t.Error("the feed changed after the VM stopped")
	}
	late, _ := f.Subscribe()
	if _, ok := <-late; ok {
		t.Error("a subscription after the stop is open")
	}
}
