// Package fswatch tells the GUI when a VM library changes on disk: a VM
// made, renamed or deleted by the CLI, a config edited by hand, a runner
// come or gone, a new thumbnail. It watches the library folder, each VM's
// folder and each VM's run/ folder with fsnotify, and folds each burst of
// events into one signal.
package fswatch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/vivarium-vm/vivarium/vm"
)

// DefaultSettle is how long a burst of changes may last before it is
// reported: long enough that a VM being created is one signal, short
// enough that the window feels live.
const DefaultSettle = 150 * time.Millisecond

// Library watches the VM library at Root. It satisfies ui.Watcher.
type Library struct {
	Root string
	// Settle is how long to wait after a change for more; 0 means
	// DefaultSettle.
	Settle time.Duration
}

// Watch starts watching. The returned channel receives a value after each
// burst of changes and is closed when ctx is done or the watch fails.
func (l Library) Watch(ctx context.Context) (<-chan struct{}, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watching the library %s: %w; raise fs.inotify.max_user_instances, or restart Vivarium to see changes made elsewhere", l.Root, err)
	}
	if err := w.Add(l.Root); err != nil {
		w.Close()
		return nil, fmt.Errorf("watching the library %s: %w", l.Root, err)
	}
	entries, err := os.ReadDir(l.Root)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		w.Close()
		return nil, fmt.Errorf("watching the library %s: %w", l.Root, err)
	}
	for _, e := range entries {
		if isVMDir(e.Name()) && e.IsDir() {
			addVM(w, filepath.Join(l.Root, e.Name()))
		}
	}
	settle := l.Settle
	if settle <= 0 {
		settle = DefaultSettle
	}
	out := make(chan struct{}, 1)
	go l.loop(ctx, w, settle, out)
	return out, nil
}

func (l Library) loop(ctx context.Context, w *fsnotify.Watcher, settle time.Duration, out chan<- struct{}) {
	defer close(out)
	defer w.Close()
	var fire <-chan time.Time
	changed := func() {
		if fire == nil {
			fire = time.After(settle)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if l.relevant(w, ev) {
				changed()
			}
		case _, ok := <-w.Errors:
			if !ok {
				return
			}
			// Events were lost (the queue overflowed): read everything again.
			changed()
		case <-fire:
			fire = nil
			select {
			case out <- struct{}{}:
			default: // a signal is already waiting
			}
		}
	}
}

// relevant reports whether ev may change what the library shows, adding
// watches for VM folders and run/ folders as they appear.
func (l Library) relevant(w *fsnotify.Watcher, ev fsnotify.Event) bool {
	dir, base := filepath.Dir(ev.Name), filepath.Base(ev.Name)
	if dir == filepath.Clean(l.Root) {
		// Half-made and half-deleted VMs are hidden until they are whole.
		if strings.HasPrefix(base, ".") {
			return false
		}
		if ev.Has(fsnotify.Create) && isVMDir(base) {
			addVM(w, ev.Name)
		}
		return true
	}
	if ev.Has(fsnotify.Create) && base == vm.RunDir {
		_ = w.Add(ev.Name)
	}
	return true
}

func isVMDir(name string) bool { return vm.IsBundleName(name) }

// addVM watches a VM's folder and its run/ folder. A folder that vanished
// meanwhile is not an error: its removal was already seen.
func addVM(w *fsnotify.Watcher, dir string) {
	_ = w.Add(dir)
	_ = w.Add(filepath.Join(dir, vm.RunDir))
}
