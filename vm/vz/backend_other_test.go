//go:build !darwin

package vz

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/vivarium-vm/vivarium/vm"
)

// Off macOS the vz backend and the macOS installer refuse with a sentence
// that says what they need and what this host is.
func TestUnsupportedOffMacOS(t *testing.T) {
	here := "(this is " + runtime.GOOS + "/" + runtime.GOARCH + ")"
	tests := []struct {
		name string
		run  func() error
		want string
	}{
		{name: "start", run: func() error {
			_, err := New(sonoma).Start(context.Background(), kernelServer())
			return err
		}, want: "Apple Virtualization (backend \"vz\") needs macOS on a Mac " + here},
		{name: "install macOS", run: func() error {
			s := macGuest()
			return InstallMacOS(context.Background(), s.Bundle, s.Config, "/tmp/UniversalMac.ipsw", nil)
		}, want: "macOS guests need macOS on a Mac with Apple silicon " + here},
		{name: "latest restore image", run: func() error {
			_, err := LatestRestoreImageURL(context.Background())
			return err
		}, want: "macOS guests need macOS on a Mac with Apple silicon " + here},
		{name: "install rosetta", run: func() error { return InstallRosetta(context.Background()) },
			want: "Rosetta for Linux needs macOS on a Mac with Apple silicon " + here},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			if err == nil {
				t.Fatal("succeeded off macOS")
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to start with %q", err, tt.want)
			}
			if !errors.Is(err, vm.ErrUnsupported) {
				t.Errorf("error %v does not match vm.ErrUnsupported", err)
			}
		})
	}
}
