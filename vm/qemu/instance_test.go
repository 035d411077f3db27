package qemu

import (
	"strings"
	"testing"
)

func TestQEMUOutputInErrors(t *testing.T) {
	tests := []struct {
		name    string
		printed string
		want    []string
		wantNot []string
	}{
		{name: "silent", printed: "", want: nil},
		{
			name:    "no window in this QEMU",
			printed: "qemu-system-x86_64: Display 'gtk' is not available.\n",
			want:    []string{":\nqemu-system-x86_64: Display 'gtk' is not available.", "apt-get install qemu-system-gui", "headless"},
		},
		{
			name:    "only the last lines",
			printed: strings.Repeat("noise\n", 100) + "line 1\nline 2\nline 3\nline 4\nline 5\nqemu: the reason\n",
			want:    []string{"line 1\n", "qemu: the reason"},
			wantNot: []string{"noise"},
		},
		{
			name:    "a long story keeps its end",
			printed: strings.Repeat("x", 3*tailSize) + "\nqemu: Could not open 'disk-0.img': No such file or directory\n",
			want:    []string{"Could not open 'disk-0.img'"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tw tailWriter
			for _, chunk := range strings.SplitAfter(tt.printed, "\n") {
				tw.Write([]byte(chunk))
			}
			got := tw.lastLines()
			if tt.want == nil && got != "" {
				t.Errorf("lastLines = %q, want nothing", got)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("lastLines = %q, lacks %q", got, w)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(got, w) {
					t.Errorf("lastLines = %q, has %q", got, w)
				}
			}
		})
	}
}
