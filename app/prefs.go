package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"

	"github.com/vivarium-vm/vivarium/ui"
)

// guiPreferencesPath is where fyne keeps the window's preferences (the
// same place fyne's app package computes for appID).
func guiPreferencesPath(getenv func(string) string) string {
	home := getenv("HOME")
	if home == "" {
		return ""
	}
	dir := filepath.Join(home, ".config")
	switch {
	case runtime.GOOS == "darwin":
		dir = filepath.Join(home, "Library", "Preferences")
	case getenv("XDG_CONFIG_HOME") != "":
		dir = getenv("XDG_CONFIG_HOME")
	}
	return filepath.Join(dir, "fyne", appID, "preferences.json")
}

// preferredLibraryRoot is the library location chosen in the window's
// Preferences, so the command line uses the same library; "" when none.
func preferredLibraryRoot(getenv func(string) string) string {
	path := guiPreferencesPath(getenv)
	if path == "" {
		return ""
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	var prefs map[string]any
	if json.Unmarshal(data, &prefs) != nil {
		return ""
	}
	root, _ := prefs[ui.PrefLibraryRoot].(string)
	return root
}
