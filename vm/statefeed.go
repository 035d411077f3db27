package vm

import "sync"

// feedBuffer is how many changes a subscriber may fall behind by before it
// loses the oldest ones (never the latest).
const feedBuffer = 16

// StateFeed is a running VM's state and the feed of its changes, the one
// way backends' instances and the runner publish them. A subscriber that
// falls behind loses the oldest changes, never the latest, and never holds
// up the VM. Once the state is StateStopped the feed ends: every
// subscription gets StateStopped and is closed.
type StateFeed struct {
	mu    sync.Mutex
	state State
	subs  map[chan State]struct{}
	ended bool
}

// NewStateFeed starts a feed at state.
func NewStateFeed(state State) *StateFeed {
	return &StateFeed{state: state, subs: map[chan State]struct{}{}}
}

// State is the state now.
func (f *StateFeed) State() State {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state
}

// Set records s and sends it to every subscriber. It reports whether the
// state changed; after StateStopped nothing changes any more.
func (f *StateFeed) Set(s State) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ended || s == f.state {
		return false
	}
	f.state = s
	for ch := range f.subs {
		deliver(ch, s)
	}
	if s == StateStopped {
		f.ended = true
		for ch := range f.subs {
			close(ch)
		}
		f.subs = nil
	}
	return true
}

// Subscribe returns a channel of the changes from now on and a function
// that ends the subscription. The channel is closed once the VM stopped
// (at once when it already has).
func (f *StateFeed) Subscribe() (<-chan State, func()) {
	ch := make(chan State, feedBuffer)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ended {
		close(ch)
		return ch, func() {}
	}
	f.subs[ch] = struct{}{}
	return ch, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if _, ok := f.subs[ch]; ok {
			delete(f.subs, ch)
			close(ch)
		}
	}
}

// Ended reports whether the VM has stopped and the feed is over.
func (f *StateFeed) Ended() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ended
}

// deliver sends s on ch, dropping the oldest queued change when ch is full.
func deliver(ch chan State, s State) {
	for {
		select {
		case ch <- s:
			return
		default:
			select {
			case <-ch:
			default:
			}
		}
	}
}
