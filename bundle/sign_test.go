package bundle

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestSignWithoutCodesignSaysItNeedsMacOS(t *testing.T) {
	app := assembleForSigning(t)
	t.Setenv("PATH", t.TempDir())
	err := Sign(context.Background(), app, realEntitlements)
	if !errors.Is(err, ErrSigningNeedsMacOS) {
		t.Fatalf("Sign without codesign: %v, want ErrSigningNeedsMacOS", err)
	}
	if !strings.Contains(err.Error(), "macOS") {
		t.Errorf("error %q does not say signing needs macOS", err)
	}
}

// A stand-in codesign records how it is run: the signature must be ad hoc,
// carry our entitlements, and be verified afterwards.
func TestSignRunsCodesignAdHocWithTheEntitlements(t *testing.T) {
	tests := []struct {
		name         string
		entitlements func(t *testing.T) string
		codesignFail bool
		wantErr      string
		wantCalls    []string
	}{
		{
			name:         "signs and verifies",
			entitlements: func(*testing.T) string { return realEntitlements },
			wantCalls: []string{
				"--force --sign - --entitlements " + realEntitlements + " APP",
				"--verify --strict --verbose=2 APP",
			},
		},
		{
			name:         "codesign's complaint reaches the user",
			entitlements: func(*testing.T) string { return realEntitlements },
			codesignFail: true,
			wantErr:      "resource fork, Finder information, or similar detritus not allowed",
			wantCalls:    []string{"--force --sign - --entitlements " + realEntitlements + " APP"},
		},
		{
			name: "entitlements without virtualization are refused before signing",
			entitlements: func(t *testing.T) string {
				path := filepath.Join(t.TempDir(), "empty.entitlements")
				writeTestFile(t, path, `<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict/></plist>`, 0o644)
				return path
			},
			wantErr: "com.apple.security.virtualization is not true",
		},
		{
			name:         "missing entitlements file",
			entitlements: func(t *testing.T) string { return filepath.Join(t.TempDir(), "none.entitlements") },
			wantErr:      "read entitlements",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := assembleForSigning(t)
			log := fakeCodesign(t, tt.codesignFail)
			err := Sign(context.Background(), app, tt.entitlements(t))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Sign: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Sign: %v, want an error saying %q", err, tt.wantErr)
			}
			var calls []string
			if data, err := os.ReadFile(log); err == nil {
				calls = strings.Split(strings.TrimSpace(strings.ReplaceAll(string(data), app, "APP")), "\n")
			}
			if strings.Join(calls, "\n") != strings.Join(tt.wantCalls, "\n") {
				t.Errorf("codesign ran as\n%q\nwant\n%q", calls, tt.wantCalls)
			}
		})
	}
}

// On a Mac, sign for real and read the entitlements back out of the
// signature.
func TestSignForRealOnMacOS(t *testing.T) {
	if _, err := exec.LookPath("codesign"); err != nil || runtime.GOOS != "darwin" {
		t.Skip("codesign is not here (it is on macOS only): the real signature is checked by the macOS CI job")
	}
	out := t.TempDir()
	// A real Mach-O binary to sign: a copy of /usr/bin/true.
	binary := filepath.Join(t.TempDir(), "vivarium")
	data, err := os.ReadFile("/usr/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, binary, string(data), 0o755)
	app, err := Assemble(Options{Binary: binary, OutDir: out, InfoPlist: realInfoPlist, Icon: plainIcon})
	if err != nil {
		t.Fatalf("Assemble: %v", err)
	}
	if err := Sign(context.Background(), app, realEntitlements); err != nil {
		t.Fatalf("Sign: %v", err)
	}
	got, err := exec.Command("codesign", "--display", "--entitlements", "-", "--xml", app).Output()
	if err != nil {
		t.Fatalf("codesign --display: %v", err)
	}
	if !strings.Contains(string(got), VirtualizationEntitlement) {
		t.Errorf("signed entitlements lack %s:\n%s", VirtualizationEntitlement, got)
	}
}

func assembleForSigning(t *testing.T) string {
	t.Helper()
	app, err := Assemble(Options{Binary: standIn(t, "vivarium"), OutDir: t.TempDir(), InfoPlist: realInfoPlist, Icon: plainIcon})
	if err != nil {
		t.Fatalf("Assemble: %v", err)
	}
	return app
}

// fakeCodesign puts a codesign first on PATH that logs its arguments, one
// run a line, to the returned file, and fails like the real one does on a
// bundle with extended attributes when fail is set.
func fakeCodesign(t *testing.T, fail bool) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the stand-in codesign is a shell script")
	}
	dir := t.TempDir()
	log := filepath.Join(dir, "calls.log")
	script := "#!/bin/sh\necho \"$@\" >> '" + log + "'\n"
	if fail {
		script += "echo \"$6: resource fork, Finder information, or similar detritus not allowed\" >&2\nexit 1\n"
	}
	writeTestFile(t, filepath.Join(dir, "codesign"), script, 0o755)
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return log
}

func writeTestFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}
