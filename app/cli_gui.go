package main

import (
	"context"
	"errors"
)

// openGUI opens the library window.
func openGUI(ctx context.Context, e *env) error {
	return errors.New("the library window is not built yet; see 'vivarium --help' for the command line")
}

// createMacOS creates a macOS VM from a restore image.
func createMacOS(cmd any, e *env, lib any, c any, ipsw string) error {
	return errors.New("macOS guests are not wired yet")
}
