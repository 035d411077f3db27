package ui

import (
	"context"
	"fmt"
	"os"
	"time"

	"fyne.io/fyne/v2"

	"github.com/vivarium-vm/vivarium/vm"
)

// pollInterval is how often the list is re-read when there is no working
// Watcher, so changes made outside the GUI still show.
const pollInterval = 3 * time.Second

// vmItem is one VM as the window shows it.
type vmItem struct {
	info  *vm.Info
	thumb fyne.Resource // the guest's last screen, nil when there is none
	// stopRequested is set once the guest was asked to shut down, so the
	// next Stop offers to force it.
	stopRequested bool
}

// bridge turns the library's and the runners' news into the window's
// model. Its goroutines do the blocking work; every change to the model,
// and so to widgets, happens in a function handed to do, on the UI
// goroutine.
type bridge struct {
	deps Deps
	kick chan struct{}

	// Owned by the UI goroutine.
	items    []*vmItem
	loaded   bool
	listErr  error
	running  int
	onChange map[int]func()
	nextID   int
	onError  func(error)
}

func newBridge(d Deps) *bridge {
	return &bridge{deps: d, kick: make(chan struct{}, 1), running: -1, onChange: map[int]func(){}}
}

// listen calls f after every change of the model, until the returned
// function is called.
func (b *bridge) listen(f func()) (remove func()) {
	id := b.nextID
	b.nextID++
	b.onChange[id] = f
	return func() { delete(b.onChange, id) }
}

// start runs the bridge's goroutines until ctx is done.
func (b *bridge) start(ctx context.Context) {
	go b.refreshLoop(ctx)
	go b.watch(ctx)
	go b.subscribe(ctx)
	b.refresh()
}

// refresh asks for the list to be read again, soon; requests made while a
// read is under way fold into one more read.
func (b *bridge) refresh() {
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

func (b *bridge) refreshLoop(ctx context.Context) {
	thumbs := thumbCache{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.kick:
		}
		infos, err := b.deps.Library.List(ctx)
		if ctx.Err() != nil {
			return
		}
		res := make([]fyne.Resource, len(infos))
		for i, info := range infos {
			res[i] = thumbs.load(info.Thumbnail)
		}
		b.deps.Do(func() { b.apply(infos, res, err) })
	}
}

func (b *bridge) watch(ctx context.Context) {
	if b.deps.Watcher != nil {
		ch, err := b.deps.Watcher.Watch(ctx)
		if err == nil {
			// What changed between the first listing and the watch's start
			// sent no event: look once more now that nothing is missed.
			b.refresh()
			for range ch {
				b.refresh()
			}
			if ctx.Err() != nil {
				return
			}
		}
	}
	// Without a watcher, look now and then.
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			b.refresh()
		}
	}
}

func (b *bridge) subscribe(ctx context.Context) {
	ch, err := b.deps.Controller.Subscribe(ctx)
	if err != nil {
		// The list still shows each runner's state, read from the library.
		return
	}
	for ev := range ch {
		b.deps.Do(func() { b.applyState(ev) })
		b.refresh()
	}
}

// apply replaces the model with a fresh read of the library.
func (b *bridge) apply(infos []*vm.Info, thumbs []fyne.Resource, err error) {
	b.loaded = true
	b.listErr = err
	if err != nil {
		b.changed()
		return
	}
	old := map[string]*vmItem{}
	for _, it := range b.items {
		old[it.info.Name] = it
	}
	items := make([]*vmItem, len(infos))
	for i, info := range infos {
		it := &vmItem{info: info, thumb: thumbs[i]}
		if prev := old[info.Name]; prev != nil && info.State.Active() {
			it.stopRequested = prev.stopRequested
		}
		items[i] = it
	}
	b.items = items
	b.changed()
}

// applyState shows a runner's news at once, before the next read of the
// library catches up.
func (b *bridge) applyState(ev StateChange) {
	it := b.item(ev.Name)
	if it == nil {
		return
	}
	it.info.State = ev.State
	if !ev.State.Active() {
		it.stopRequested = false
	}
	b.changed()
	if ev.Err != nil && b.onError != nil {
		b.onError(fmt.Errorf("%s stopped: %w", ev.Name, ev.Err))
	}
}

func (b *bridge) item(name string) *vmItem {
	for _, it := range b.items {
		if it.info.Name == name {
			return it
		}
	}
	return nil
}

func (b *bridge) has(name string) bool { return b.item(name) != nil }

func (b *bridge) changed() {
	n := 0
	for _, it := range b.items {
		if it.info.State.Active() {
			n++
		}
	}
	if n != b.running {
		b.running = n
		if b.deps.RunningChanged != nil {
			b.deps.RunningChanged(n)
		}
	}
	for _, f := range b.onChange {
		f()
	}
}

// setState shows a state the GUI expects (starting, stopping) until the
// runner says otherwise.
func (b *bridge) setState(name string, s vm.State) {
	if it := b.item(name); it != nil {
		it.info.State = s
		b.changed()
	}
}

// do runs blocking work off the UI goroutine, then done (which may be nil)
// with its error on the UI goroutine, and reads the library again.
func (b *bridge) do(ctx context.Context, work func(ctx context.Context) error, done func(error)) {
	go func() {
		err := work(ctx)
		b.deps.Do(func() {
			if done != nil {
				done(err)
			} else if err != nil && b.onError != nil {
				b.onError(err)
			}
		})
		b.refresh()
	}()
}

// thumbCache keeps each thumbnail's bytes until its file changes. It is
// used by the refresh goroutine only.
type thumbCache map[string]thumbEntry

type thumbEntry struct {
	mod  time.Time
	size int64
	res  fyne.Resource
}

func (c thumbCache) load(path string) fyne.Resource {
	if path == "" {
		return nil
	}
	st, err := os.Stat(path)
	if err != nil {
		delete(c, path)
		return nil
	}
	if e, ok := c[path]; ok && e.mod.Equal(st.ModTime()) && e.size == st.Size() {
		return e.res
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	// The name changes with the file, so fyne's image cache never shows an
	// old screen.
	res := fyne.NewStaticResource(fmt.Sprintf("%s@%d", path, st.ModTime().UnixNano()), data)
	c[path] = thumbEntry{mod: st.ModTime(), size: st.Size(), res: res}
	return res
}
