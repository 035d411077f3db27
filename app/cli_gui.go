package main

import (
	"context"
	"fmt"
	"runtime"

	"github.com/vivarium-vm/vivarium/vm"
)

// openGUI opens the library window on the library the CLI would use. With
// --library or VIVARIUM_HOME the location is pinned; otherwise the
// Preferences may choose it.
func openGUI(ctx context.Context, e *env) error {
	if err := checkGUIDisplay(runtime.GOOS, e.getenv); err != nil {
		return err
	}
	pinned := e.root != "" || e.getenv("VIVARIUM_HOME") != ""
	lib, err := e.library()
	if err != nil {
		return err
	}
	return runGUI(ctx, guiEnv{Library: lib, LibraryPinned: pinned, Getenv: e.getenv})
}

// checkGUIDisplay says, in one line, that the window cannot open where
// there is no display (an ssh session, a server) and what to do, before
// the toolkit panics about it at length.
func checkGUIDisplay(goos string, getenv func(string) string) error {
	if goos != "linux" && goos != "freebsd" || getenv("DISPLAY") != "" || getenv("WAYLAND_DISPLAY") != "" {
		return nil
	}
	return fmt.Errorf("%w: the library window needs one, and DISPLAY and WAYLAND_DISPLAY are not set; run Vivarium from a desktop session, with ssh -X, or under Xvfb (make run starts one), or use the command line: vivarium --help", vm.ErrNoDisplay)
}
