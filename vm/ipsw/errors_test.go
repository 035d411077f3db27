package ipsw_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vivarium-vm/vivarium/vm/ipsw"
)

// frameworkError stands in for vz's *NSError.
type frameworkError struct{ text string }

func (e *frameworkError) Error() string { return e.text }

func TestExplainInstallError(t *testing.T) {
	tests := []struct {
		name         string
		domain       string
		code         int
		message      string
		wantKind     error
		wantSentence string
		wantHint     string
	}{
		{
			name:   "beta without device support (VZErrorInstallationRequiresUpdate)",
			domain: "VZErrorDomain", code: 10006,
			message:      "A software update is required to complete the installation. Installation requires a software update.",
			wantKind:     ipsw.ErrNeedsDeviceSupport,
			wantSentence: "Installing a beta macOS needs this Mac to have the matching device support",
			wantHint:     "install the Xcode beta that matches it, or Apple's device support package (MobileDevice update) for that beta, then try again",
		},
		{
			name:   "restore step refused the host (MobileRestore underneath 10007)",
			domain: "VZErrorDomain", code: 10007,
			message:      `An error occurred during installation. AMRestorePerformRestoreModeRestoreWithError failed with error: 10 UserInfo={NSUnderlyingError=0x600 {Error Domain=com.apple.MobileDevice.MobileRestore Code=-1}}`,
			wantKind:     ipsw.ErrNeedsDeviceSupport,
			wantSentence: "This Mac's restore tools cannot install this macOS",
			wantHint:     "update macOS on this Mac, or pick an older restore image",
		},
		{
			name:   "not a restore image (VZErrorInvalidRestoreImage)",
			domain: "VZErrorDomain", code: 10005,
			message:      "The restore image is invalid. The restore image is the wrong file type.",
			wantKind:     ipsw.ErrNotRestoreImage,
			wantSentence: "is not a macOS restore image (.ipsw)",
			wantHint:     "download the restore image again",
		},
		{
			name:   "installation service unreachable (VZErrorRestoreImageLoadFailed)",
			domain: "VZErrorDomain", code: 10004,
			message:      "The restore image failed to load. Unable to connect to installation service.",
			wantKind:     ipsw.ErrInstallFailed,
			wantSentence: "installation service did not answer",
			wantHint:     "restart this Mac",
		},
		{
			name:   "damaged restore image (VZErrorRestoreImageLoadFailed)",
			domain: "VZErrorDomain", code: 10004,
			message:      "The restore image failed to load.",
			wantKind:     ipsw.ErrNotRestoreImage,
			wantSentence: "The restore image could not be loaded",
			wantHint:     "download it again",
		},
		{
			name:   "out of disk space (VZErrorOutOfDiskSpace)",
			domain: "VZErrorDomain", code: 8,
			wantKind:     ipsw.ErrNotEnoughSpace,
			wantSentence: "There is not enough disk space to install macOS",
			wantHint:     "free up space",
		},
		{
			name:   "out of disk space (NSFileWriteOutOfSpaceError)",
			domain: "NSCocoaErrorDomain", code: 640,
			wantKind:     ipsw.ErrNotEnoughSpace,
			wantSentence: "not enough disk space",
		},
		{
			name:   "out of disk space (ENOSPC)",
			domain: "NSPOSIXErrorDomain", code: 28, message: "No space left on device",
			wantKind:     ipsw.ErrNotEnoughSpace,
			wantSentence: "not enough disk space",
		},
		{
			name:   "network lost (VZErrorNetworkError)",
			domain: "VZErrorDomain", code: 7,
			wantKind:     ipsw.ErrNetworkLost,
			wantSentence: "The network connection was lost during installation",
			wantHint:     "check the connection",
		},
		{
			name:   "network lost (NSURLErrorNetworkConnectionLost)",
			domain: "NSURLErrorDomain", code: -1005, message: "The network connection was lost.",
			wantKind:     ipsw.ErrNetworkLost,
			wantSentence: "network connection was lost",
		},
		{
			name:   "offline (NSURLErrorNotConnectedToInternet)",
			domain: "NSURLErrorDomain", code: -1009,
			wantKind:     ipsw.ErrNetworkLost,
			wantSentence: "network connection was lost",
		},
		{
			name:   "cancelled (VZErrorOperationCancelled)",
			domain: "VZErrorDomain", code: 9,
			wantKind:     context.Canceled,
			wantSentence: "The installation was cancelled",
		},
		{
			name:   "cancelled (NSUserCancelledError)",
			domain: "NSCocoaErrorDomain", code: 3072,
			wantKind:     context.Canceled,
			wantSentence: "The installation was cancelled",
		},
		{
			name:   "two macOS VMs already running (VZErrorVirtualMachineLimitExceeded)",
			domain: "VZErrorDomain", code: 6,
			wantKind:     ipsw.ErrVMLimit,
			wantSentence: "at most two macOS VMs",
			wantHint:     "stop another macOS VM",
		},
		{
			name:   "no virtualization on this hardware",
			domain: "VZErrorDomain", code: 2, message: "Virtualization is not available on this hardware.",
			wantKind:     ipsw.ErrHostTooOld,
			wantSentence: "This Mac cannot run virtual machines",
		},
		{
			name:   "catalog has nothing for this host (VZErrorNoSupportedRestoreImagesInCatalog)",
			domain: "VZErrorDomain", code: 10003,
			wantKind:     ipsw.ErrHostTooOld,
			wantSentence: "no macOS that this Mac can virtualize",
			wantHint:     "update macOS on this Mac",
		},
		{
			name:   "catalog unreachable (VZErrorRestoreImageCatalogLoadFailed)",
			domain: "VZErrorDomain", code: 10001,
			wantKind:     ipsw.ErrNetworkLost,
			wantSentence: "list of macOS restore images could not be loaded",
		},
		{
			name:   "generic installation failure (VZErrorInstallationFailed)",
			domain: "VZErrorDomain", code: 10007, message: "An error occurred during installation. Installation failed.",
			wantKind:     ipsw.ErrInstallFailed,
			wantSentence: "macOS installation failed",
			wantHint:     "device support",
		},
		{
			name:   "internal error (VZErrorInternal)",
			domain: "VZErrorDomain", code: 1, message: "Internal Virtualization error. Installation failed.",
			wantKind:     ipsw.ErrInstallFailed,
			wantSentence: "Virtualization framework failed",
		},
		{
			name:   "unknown domain falls back, keeping Apple's text",
			domain: "com.example.Other", code: 42, message: "Something odd.",
			wantKind:     ipsw.ErrInstallFailed,
			wantSentence: "macOS installation failed",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cause := &frameworkError{text: tt.message}
			err := ipsw.ExplainInstallError(tt.domain, tt.code, tt.message, cause)
			var ie *ipsw.InstallError
			if !errors.As(err, &ie) {
				t.Fatalf("got %T %v, want *InstallError", err, err)
			}
			if !errors.Is(err, tt.wantKind) {
				t.Errorf("errors.Is(err, %v) = false; kind is %v", tt.wantKind, ie.Kind)
			}
			if !strings.Contains(ie.Sentence, tt.wantSentence) {
				t.Errorf("sentence %q, want it to contain %q", ie.Sentence, tt.wantSentence)
			}
			if !strings.Contains(ie.Hint, tt.wantHint) {
				t.Errorf("hint %q, want it to contain %q", ie.Hint, tt.wantHint)
			}
			if !strings.Contains(ie.Detail, tt.domain) || !strings.Contains(ie.Detail, tt.message) {
				t.Errorf("detail %q should keep the framework's domain and text %q", ie.Detail, tt.message)
			}
			if !errors.Is(err, cause) {
				t.Error("the framework's error is not reachable with errors.Is/As")
			}
			if !strings.HasPrefix(err.Error(), ie.Sentence+": "+ie.Hint) {
				t.Errorf("Error() = %q, want sentence then hint", err)
			}
		})
	}
}

func TestExplainInstallErrorContextCancel(t *testing.T) {
	err := ipsw.ExplainInstallError("", 0, "", context.Canceled)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "cancelled") {
		t.Errorf("got %v, want the cancellation sentence", err)
	}
	if err := ipsw.ExplainInstallError("", 0, "", nil); err != nil {
		t.Errorf("no failure explained as %v, want nil", err)
	}
}

func TestNewerThanHostError(t *testing.T) {
	tests := []struct {
		name, image, host, want string
	}{
		{"versions known", "15.0", "14.5", "macOS 15.0 is newer than this Mac (macOS 14.5) can virtualize: update macOS on this Mac, or pick an older restore image"},
		{"versions unknown", "", "", "This macOS is newer than this Mac can virtualize: update macOS on this Mac, or pick an older restore image"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ipsw.NewerThanHostError(tt.image, tt.host)
			if err.Error() != tt.want {
				t.Errorf("got %q, want %q", err, tt.want)
			}
			if !errors.Is(err, ipsw.ErrHostTooOld) {
				t.Error("not ErrHostTooOld")
			}
		})
	}
}
