package testguest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestCmdline(t *testing.T) {
	tests := []struct {
		name     string
		shares   []string
		actions  []string
		want     []string // parameters that must be there
		wantNone []string // prefixes that must not
	}{
		{
			name:     "plain boot",
			want:     []string{"console=ttyS0,115200", "quiet"},
			wantNone: []string{"vivarium."},
		},
		{
			name:    "shares and actions",
			shares:  []string{"data", "ro"},
			actions: []string{ShareWrite("data"), DiskWrite("hello"), ActionPoweroff},
			want: []string{
				"vivarium.shares=data,ro",
				"vivarium.actions=share-write:data,disk-write:hello,poweroff",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			params := strings.Fields(Cmdline(tt.shares, tt.actions))
			for _, w := range tt.want {
				if !contains(params, w) {
					t.Errorf("Cmdline() = %q, lacks %q", params, w)
				}
			}
			for _, p := range params {
				for _, no := range tt.wantNone {
					if strings.HasPrefix(p, no) {
						t.Errorf("Cmdline() has %q, want no %q parameter", p, no)
					}
				}
			}
			// The last console= is /dev/console, where the markers go.
			var last string
			for _, p := range params {
				if strings.HasPrefix(p, "console=") {
					last = p
				}
			}
			if !strings.HasPrefix(last, "console=ttyS0") {
				t.Errorf("Cmdline() = %q: last console is %q, want ttyS0 so markers reach the serial console", params, last)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestParseResults(t *testing.T) {
	tests := []struct {
		name    string
		console string
		want    []Result
	}{
		{
			name:    "no results",
			console: "[    1.0] Run /init as init process\r\nVIVARIUM-GUEST-READY\r\nVIVARIUM-GUEST-IDLE\r\n",
		},
		{
			name: "serial CRLF and kernel messages in between",
			console: "VIVARIUM-GUEST-READY\r\n" +
				"VIVARIUM-RESULT share-write:data ok /mnt/data/from-guest.txt\r\n" +
				"[    2.5] virtio_blk virtio1: [vda] 2048 512-byte logical blocks\r\n" +
				"VIVARIUM-RESULT share-write:ro fail sh: can't create /mnt/ro/from-guest.txt: Read-only file system\r\n" +
				"VIVARIUM-RESULT ports ok com.redhat.spice.0,org.qemu.guest_agent.0\r\n" +
				"VIVARIUM-GUEST-IDLE\r\n",
			want: []Result{
				{Action: "share-write:data", OK: true, Detail: "/mnt/data/from-guest.txt"},
				{Action: "share-write:ro", Detail: "sh: can't create /mnt/ro/from-guest.txt: Read-only file system"},
				{Action: "ports", OK: true, Detail: "com.redhat.spice.0,org.qemu.guest_agent.0"},
			},
		},
		{
			name:    "empty detail",
			console: "VIVARIUM-RESULT disk-read ok \r\nVIVARIUM-RESULT ports ok\n",
			want:    []Result{{Action: "disk-read", OK: true}, {Action: "ports", OK: true}},
		},
		{
			name:    "kernel message glued in front of a result",
			console: "[    3.1] random: crng init doneVIVARIUM-RESULT disk-read ok hello\r\n",
			want:    []Result{{Action: "disk-read", OK: true, Detail: "hello"}},
		},
		{
			name:    "malformed lines are skipped",
			console: "VIVARIUM-RESULT\r\nVIVARIUM-RESULT poweroff maybe\r\nVIVARIUM-RESULTS x ok\r\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParseResults(tt.console)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseResults() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestFindResult(t *testing.T) {
	results := []Result{{Action: "ports", OK: true, Detail: "a"}, {Action: "disk-read", OK: true, Detail: "x"}}
	if r, ok := FindResult(results, ActionDiskRead); !ok || r.Detail != "x" {
		t.Errorf("FindResult(disk-read) = %+v, %v; want detail x", r, ok)
	}
	if r, ok := FindResult(results, ActionPoweroff); ok {
		t.Errorf("FindResult(poweroff) = %+v, found; want not found", r)
	}
}

func TestWaitForMarker(t *testing.T) {
	tests := []struct {
		name    string
		writes  []string // appended to the console one by one, 50 ms apart
		marker  string
		wantErr bool
	}{
		{name: "marker arrives later", writes: []string{"booting\r\n", "VIVARIUM-GUEST-READY\r\n"}, marker: ReadyMarker},
		{name: "marker never comes", writes: []string{"booting\r\n", "Kernel panic - not syncing\r\n"}, marker: ReadyMarker, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			console := filepath.Join(t.TempDir(), "console.log")
			go func() {
				for _, w := range tt.writes {
					time.Sleep(50 * time.Millisecond)
					f, err := os.OpenFile(console, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
					if err != nil {
						return
					}
					f.WriteString(w)
					f.Close()
				}
			}()
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			text, err := WaitForMarker(ctx, console, tt.marker)
			if tt.wantErr {
				if !errors.Is(err, ErrMarkerNotSeen) {
					t.Fatalf("WaitForMarker() error = %v, want ErrMarkerNotSeen", err)
				}
				// The user debugging a failed boot needs the console's end.
				if !strings.Contains(err.Error(), "Kernel panic") || !strings.Contains(err.Error(), tt.marker) {
					t.Errorf("WaitForMarker() error = %q, want it to name the marker and show the console's last lines", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("WaitForMarker() error = %v", err)
			}
			if !strings.Contains(text, tt.marker) {
				t.Errorf("WaitForMarker() text = %q, lacks %q", text, tt.marker)
			}
		})
	}
}

func TestEnsureReportsBuildFailure(t *testing.T) {
	script := filepath.Join(t.TempDir(), "testguest.sh")
	body := "#!/bin/bash\necho 'testguest: apt-get download linux-image-6.1.0-56-amd64 failed: check the network' >&2\nexit 1\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := ensureIn(t.Context(), script, t.TempDir())
	if err == nil {
		t.Fatal("ensureIn() with a failing script: no error")
	}
	if !strings.Contains(err.Error(), "check the network") {
		t.Errorf("ensureIn() error = %q, want the script's own message", err)
	}
}

func TestModuleFileFindsScript(t *testing.T) {
	p, err := ModuleFile(ScriptPath)
	if err != nil {
		t.Fatal(err)
	}
	if !isFile(p) || !isFile(filepath.Join(filepath.Dir(filepath.Dir(p)), "go.mod")) {
		t.Errorf("ModuleFile(%s) = %s, not the script beside go.mod", ScriptPath, p)
	}
	if _, err := ModuleFile("scripts/no-such-script.sh"); err == nil {
		t.Error("ModuleFile of a missing file: no error")
	}
}
