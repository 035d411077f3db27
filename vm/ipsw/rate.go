package ipsw

import "time"

// Progress is a download's state as a progress bar shows it.
type Progress struct {
	Done  int64 // bytes on disk, including those of an earlier attempt
	Total int64 // size of the file; -1 when the server did not say
	// BytesPerSecond is the rate over the last few seconds of this attempt.
	BytesPerSecond float64
	// ETA is the time left at that rate; 0 when unknown.
	ETA time.Duration
}

const (
	progressInterval = 100 * time.Millisecond // at most ~10 reports a second
	rateWindow       = 5 * time.Second        // smooths bursts, still follows changes
)

type rateSample struct {
	at   time.Time
	done int64
}

// rateMeter measures bytes per second over a sliding window.
type rateMeter struct {
	window  time.Duration
	samples []rateSample
}

func (m *rateMeter) reset() { m.samples = m.samples[:0] }

func (m *rateMeter) add(at time.Time, done int64) {
	m.samples = append(m.samples, rateSample{at: at, done: done})
	// Keep the newest sample older than the window as the base, so the rate
	// covers the whole window rather than just under it.
	cut := 0
	for i := 0; i < len(m.samples)-1 && at.Sub(m.samples[i+1].at) >= m.window; i++ {
		cut = i + 1
	}
	m.samples = m.samples[cut:]
}

func (m *rateMeter) rate() float64 {
	if len(m.samples) < 2 {
		return 0
	}
	first, last := m.samples[0], m.samples[len(m.samples)-1]
	seconds := last.at.Sub(first.at).Seconds()
	if seconds <= 0 {
		return 0
	}
	return float64(last.done-first.done) / seconds
}

// reporter throttles progress callbacks and computes rate and ETA.
type reporter struct {
	now   func() time.Time
	fn    func(Progress)
	meter rateMeter
	last  time.Time
}

func newReporter(now func() time.Time, fn func(Progress)) *reporter {
	return &reporter{now: now, fn: fn, meter: rateMeter{window: rateWindow}}
}

// begin starts a transfer at done bytes and reports it, so a resumed download
// shows where it resumed before the first new byte arrives.
func (r *reporter) begin(done, total int64) {
	if r.fn == nil {
		return
	}
	r.meter.reset()
	r.last = r.now()
	r.meter.add(r.last, done)
	r.fn(r.progress(done, total))
}

// update reports at most once per progressInterval.
func (r *reporter) update(done, total int64) {
	if r.fn == nil {
		return
	}
	t := r.now()
	if t.Sub(r.last) < progressInterval {
		return
	}
	r.last = t
	r.meter.add(t, done)
	r.fn(r.progress(done, total))
}

// finish always reports: the bar must end at 100%.
func (r *reporter) finish(done, total int64) {
	if r.fn == nil {
		return
	}
	r.last = r.now()
	r.meter.add(r.last, done)
	p := r.progress(done, total)
	p.ETA = 0
	r.fn(p)
}

func (r *reporter) progress(done, total int64) Progress {
	p := Progress{Done: done, Total: total, BytesPerSecond: r.meter.rate()}
	if p.BytesPerSecond > 0 && total >= done {
		p.ETA = time.Duration(float64(total-done) / p.BytesPerSecond * float64(time.Second))
	}
	return p
}
