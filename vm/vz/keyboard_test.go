package vz

import (
	"fmt"
	"testing"

	"github.com/vivarium-vm/vivarium/vm/hostcap"
)

// Every macOS guest can type, whatever the host: a guest recognises the Mac
// keyboard from macOS 14 on (vz keyboard_arm64.go) and the USB keyboard
// always, and a 14+ guest on a 14+ host gets the Mac keyboard, listed
// first.
func TestPlanKeyboardsForEveryMacOSGuest(t *testing.T) {
	for _, hostMajor := range []int{13, 14, 15} {
		for _, guestMajor := range []int{12, 13, 14} {
			t.Run(fmt.Sprintf("macOS %d guest on a macOS %d host", guestMajor, hostMajor), func(t *testing.T) {
				host := hostcap.Host{OS: "darwin", Arch: "arm64", Version: hostcap.Version{Major: hostMajor}}
				p, err := Plan(macGuest(), host)
				if err != nil {
					t.Fatal(err)
				}
				var kinds []KeyboardKind
				for _, d := range p.Devices {
					if k, ok := d.(Keyboard); ok {
						kinds = append(kinds, k.Kind)
					}
				}
				recognised := func(k KeyboardKind) bool { return k == KeyboardUSB || guestMajor >= 14 }
				var used KeyboardKind // the first keyboard the guest recognises
				for _, k := range kinds {
					if k == KeyboardMac && hostMajor < 14 {
						t.Errorf("a macOS %d host got the Mac keyboard, which needs macOS 14", hostMajor)
					}
					if used == "" && recognised(k) {
						used = k
					}
				}
				if used == "" {
					t.Fatalf("keyboards %v: the macOS %d guest recognises none of them", kinds, guestMajor)
				}
				if want := KeyboardMac; hostMajor >= 14 && guestMajor >= 14 && used != want {
					t.Errorf("keyboards %v: the guest types on %s, want %s", kinds, used, want)
				}
			})
		}
	}
}
