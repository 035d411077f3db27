package qemu

import (
	"os"
	"path/filepath"
	"testing"
)

func TestStateHeaderSaysWhichDevicesTheSavingRunHad(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name        string
		content     []byte
		runHeadless bool
		want        SavedState
	}{
		{"saved with a window", append(stateHeader(false), "QEVM..."...), true, SavedState{Headless: false, Skip: stateHeaderSize}},
		{"saved headless", append(stateHeader(true), "QEVM..."...), false, SavedState{Headless: true, Skip: stateHeaderSize}},
		{"QEMU's stream alone", []byte("QEVM\x00\x00\x00\x03 and more than sixty-four bytes of a stream ......................."), true, SavedState{Headless: true}},
		{"short file", []byte("QEVM"), false, SavedState{Headless: false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name)
			os.WriteFile(path, tt.content, 0o600)
			got, err := readStateHeader(path, tt.runHeadless)
			if err != nil {
				t.Fatal(err)
			}
			tt.want.Path = path
			if *got != tt.want {
				t.Errorf("got %+v, want %+v", *got, tt.want)
			}
		})
	}
	if len(stateHeader(true)) != stateHeaderSize || len(stateHeader(false)) != stateHeaderSize {
		t.Error("the header is not stateHeaderSize bytes")
	}
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte(stateHeaderMagic+" headless=maybe"+string(make([]byte, 64))), 0o600)
	if _, err := readStateHeader(bad, false); err == nil {
		t.Error("a header this Vivarium never wrote was accepted")
	}
}
