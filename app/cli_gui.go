package main

import "context"

// openGUI opens the library window on the library the CLI would use. With
// --library or VIVARIUM_HOME the location is pinned; otherwise the
// Preferences may choose it.
func openGUI(ctx context.Context, e *env) error {
	pinned := e.root != "" || e.getenv("VIVARIUM_HOME") != ""
	lib, err := e.library()
	if err != nil {
		return err
	}
	return runGUI(ctx, guiEnv{Library: lib, LibraryPinned: pinned, Getenv: e.getenv})
}
