package qemu

import (
	"errors"
	"strings"
	"testing"

	"github.com/vivarium-vm/vivarium/vm"
)

func TestParseVersion(t *testing.T) {
	tests := []struct {
		out  string
		want Version
	}{
		{"QEMU emulator version 7.2.15 (Debian 1:7.2+dfsg-7+deb12u13)\nCopyright (c) 2003-2022 Fabrice Bellard", Version{7, 2, 15}},
		{"QEMU emulator version 9.1.0\n", Version{9, 1, 0}},
		{"QEMU emulator version 6.1.50 (v6.1.0-1234-gabc)", Version{6, 1, 50}},
		{"QEMU emulator version 10.0", Version{10, 0, 0}},
	}
	for _, tt := range tests {
		got, err := ParseVersion(tt.out)
		if err != nil || got != tt.want {
			t.Errorf("ParseVersion(%q) = %v, %v; want %v", tt.out, got, err, tt.want)
		}
	}
	if _, err := ParseVersion("bash: qemu: command not found"); err == nil {
		t.Error("a line without a version parsed")
	}
}

func TestCheckVersion(t *testing.T) {
	if err := checkVersion("qemu", Version{7, 2, 0}); err != nil {
		t.Errorf("7.2 refused: %v", err)
	}
	if err := checkVersion("qemu", Version{6, 1, 0}); err != nil {
		t.Errorf("6.1 refused: %v", err)
	}
	err := checkVersion("/usr/bin/qemu-system-x86_64", Version{6, 0, 1})
	if err == nil || !errors.Is(err, vm.ErrUnsupported) || !strings.Contains(err.Error(), "needs QEMU 6.1 or later") || vm.HintOf(err) == "" {
		t.Errorf("6.0.1: err = %v, want unsupported, naming 6.1, with a hint", err)
	}
	if !(Version{7, 1, 0}).AtLeast(7, 1) || (Version{7, 0, 9}).AtLeast(7, 1) || !(Version{8, 0, 0}).AtLeast(7, 1) {
		t.Error("AtLeast is wrong")
	}
}
