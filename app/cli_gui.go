package main

import (
	"context"
	"errors"
)

// openGUI opens the library window.
func openGUI(ctx context.Context, e *env) error {
	return errors.New("the library window is not built yet; see 'vivarium --help' for the command line")
}
