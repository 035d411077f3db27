package ipsw

import (
	"testing"
	"time"
)

func TestRateMeterFollowsTheRecentRate(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	tests := []struct {
		name    string
		samples []rateSample
		want    float64
	}{
		{
			name:    "no samples yet",
			samples: nil,
			want:    0,
		},
		{
			name:    "steady 1 MB/s",
			samples: []rateSample{{at(0), 0}, {at(500), 500_000}, {at(1000), 1_000_000}},
			want:    1_000_000,
		},
		{
			name: "a fast start older than the window no longer counts",
			samples: []rateSample{
				{at(0), 0}, {at(1000), 50_000_000}, // 50 MB/s burst
				{at(7000), 56_000_000}, {at(11000), 60_000_000}, // then 1 MB/s
			},
			want: 1_000_000,
		},
		{
			name:    "stalled for longer than the window",
			samples: []rateSample{{at(0), 0}, {at(1000), 1_000_000}, {at(6000), 1_000_000}, {at(7000), 1_000_000}},
			want:    0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := rateMeter{window: rateWindow}
			for _, s := range tt.samples {
				m.add(s.at, s.done)
			}
			if got := m.rate(); got != tt.want {
				t.Errorf("rate = %v B/s, want %v", got, tt.want)
			}
		})
	}
}

func TestProgressETA(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	now := t0
	var got []Progress
	r := newReporter(func() time.Time { return now }, func(p Progress) { got = append(got, p) })
	r.begin(4_000_000, 14_000_000) // resumed at 4 MB of 14 MB
	now = t0.Add(time.Second)
	r.update(6_000_000, 14_000_000) // 2 MB/s since the resume
	now = now.Add(10 * time.Millisecond)
	r.update(6_010_000, 14_000_000) // too soon: not reported
	if len(got) != 2 {
		t.Fatalf("%d reports, want 2 (begin, then one update; the second update is within 100ms)", len(got))
	}
	p := got[1]
	if p.BytesPerSecond != 2_000_000 {
		t.Errorf("rate = %v, want 2 MB/s (bytes from before the resume don't count)", p.BytesPerSecond)
	}
	if p.ETA != 4*time.Second {
		t.Errorf("ETA = %v, want 4s for 8 MB at 2 MB/s", p.ETA)
	}
}
