package fswatch

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vivarium-vm/vivarium/vm"
)

// signalled reports whether ch delivers within d.
func signalled(ch <-chan struct{}, d time.Duration) bool {
	select {
	case <-ch:
		return true
	case <-time.After(d):
		return false
	}
}

func TestWatchSignalsWhatTheLibraryShows(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, root string)
		want   bool
	}{
		{"a VM made by the CLI appears", func(t *testing.T, root string) {
			lib, err := vm.OpenLibrary(root)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := lib.Create(context.Background(), vm.NewConfig("New", vm.OSLinux), vm.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"a VM deleted from outside goes", func(t *testing.T, root string) {
			if err := os.RemoveAll(filepath.Join(root, "Old.vm")); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"a config edited by hand", func(t *testing.T, root string) {
			writeFile(t, filepath.Join(root, "Old.vm", vm.ConfigFile), "version = 1\nname = \"Old\"\nmemory = \"lots\"\n")
		}, true},
		{"a runner's socket appears", func(t *testing.T, root string) {
			writeFile(t, filepath.Join(root, "Old.vm", vm.RunDir, vm.ControlSockFile), "")
		}, true},
		{"a new thumbnail", func(t *testing.T, root string) {
			writeFile(t, filepath.Join(root, "Old.vm", vm.ThumbnailFile), "png")
		}, true},
		{"a half-made VM stays hidden", func(t *testing.T, root string) {
			if err := os.Mkdir(filepath.Join(root, ".creating-123"), 0o755); err != nil {
				t.Fatal(err)
			}
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			if err := os.MkdirAll(filepath.Join(root, "Old.vm", vm.RunDir), 0o755); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ch, err := Library{Root: root, Settle: 20 * time.Millisecond}.Watch(ctx)
			if err != nil {
				t.Fatal(err)
			}
			tt.change(t, root)
			if got := signalled(ch, 2*time.Second); got != tt.want {
				t.Errorf("signalled = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestWatchFollowsNewVMs(t *testing.T) {
	root := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := Library{Root: root, Settle: 20 * time.Millisecond}.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "Later.vm"), 0o755); err != nil {
		t.Fatal(err)
	}
	if !signalled(ch, 2*time.Second) {
		t.Fatal("no signal for a new VM")
	}
	// The VM made after the watch began is watched too: a runner starting
	// in it is seen.
	if err := os.Mkdir(filepath.Join(root, "Later.vm", vm.RunDir), 0o700); err != nil {
		t.Fatal(err)
	}
	signalled(ch, 2*time.Second)
	writeFile(t, filepath.Join(root, "Later.vm", vm.RunDir, vm.ControlSockFile), "")
	if !signalled(ch, 2*time.Second) {
		t.Fatal("no signal for a runner starting in a VM made after the watch began")
	}
}

func TestWatchEndsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := Library{Root: t.TempDir()}.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case _, ok := <-ch:
		if ok {
			t.Fatal("got a change signal, want the channel closed")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the channel stayed open after the context ended")
	}
}

func TestWatchAMissingLibrarySaysWhere(t *testing.T) {
	root := filepath.Join(t.TempDir(), "nowhere")
	_, err := Library{Root: root}.Watch(context.Background())
	if err == nil || !strings.Contains(err.Error(), root) {
		t.Fatalf("err = %v, want one naming %s", err, root)
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
