package ipsw

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Sentinels. Errors returned by this package match one of these with
// errors.Is, so callers can react (offer a button, pick an exit code) without
// parsing text.
var (
	// ErrNotEnoughSpace: the disk lacks room for the rest of a download or
	// for an installation.
	ErrNotEnoughSpace = errors.New("not enough disk space")
	// ErrIncomplete: a download stopped before the whole file arrived; the
	// partial file is kept and the next Fetch resumes it.
	ErrIncomplete = errors.New("download incomplete")
	// ErrInsecureURL: a plain http:// restore image URL was refused.
	ErrInsecureURL = errors.New("insecure restore image URL")
	// ErrUnsupportedSource: a restore image source that is neither "latest",
	// an https URL nor a local file.
	ErrUnsupportedSource = errors.New("unsupported restore image source")
	// ErrNotRestoreImage: a file that is not a macOS restore image.
	ErrNotRestoreImage = errors.New("not a macOS restore image")
	// ErrHostTooOld: the macOS being installed is newer than this Mac can
	// virtualize.
	ErrHostTooOld = errors.New("macOS guest newer than this host supports")
	// ErrNeedsDeviceSupport: installing (typically a beta) macOS needs the
	// matching device support (MobileDevice) on the host.
	ErrNeedsDeviceSupport = errors.New("host needs matching device support")
	// ErrNetworkLost: the network failed while installing.
	ErrNetworkLost = errors.New("network lost")
	// ErrVMLimit: Apple allows at most two macOS guests at once.
	ErrVMLimit = errors.New("macOS VM limit reached")
	// ErrInstallFailed: an installation failure with no more specific cause.
	ErrInstallFailed = errors.New("macOS installation failed")

	// errFreeSpaceUnknown: this system can't report free space; the
	// download goes ahead without the check.
	errFreeSpaceUnknown = errors.New("free space unknown on this system")
)

// HTTPError is a download the server refused. URL has its query string
// removed: Apple's signed links carry tokens that do not belong in logs.
type HTTPError struct {
	StatusCode int
	Status     string
	URL        string
	Hint       string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("downloading %s: the server answered %s; %s", e.URL, e.Status, e.Hint)
}

// httpHint says what a user can do about an HTTP status.
func httpHint(code int) string {
	switch {
	case code == 404 || code == 403 || code == 410:
		return "the URL may have expired; Apple's beta links are signed and short-lived — copy a fresh link"
	case code == 401:
		return "the server wants a sign-in: download the file in a browser signed in to your Apple developer account, then pass the file's path"
	case code >= 500:
		return "the server had a problem; try again later — the download resumes where it stopped"
	default:
		return "check the URL, or download the file in a browser and pass its path"
	}
}

// DiskSpaceError is a download refused before it started because the cache's
// disk lacks room for the bytes still to come.
type DiskSpaceError struct {
	File   string // file name being downloaded
	Dir    string // where it would be written
	Needed uint64 // bytes still to download
	Free   uint64 // bytes free on Dir's file system (counting a partial file that would be discarded)
}

func (e *DiskSpaceError) Error() string {
	return fmt.Sprintf("not enough disk space for %s: needs %s more, %s free on %s; free up space or choose another library location",
		e.File, formatBytes(e.Needed), formatBytes(e.Free), e.Dir)
}

// Is makes errors.Is(err, ErrNotEnoughSpace) true.
func (e *DiskSpaceError) Is(target error) bool { return target == ErrNotEnoughSpace }

// formatBytes renders a size the way Finder does (decimal units, one decimal).
func formatBytes(n uint64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d bytes", n)
	}
	value, exp := float64(n), 0
	for value >= unit && exp < 4 {
		value /= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", value, "kMGT"[exp-1])
}

// InstallError is a failure explained for a user: Sentence says what went
// wrong, Hint what to do, Detail keeps the framework's own text. Kind is one
// of this package's sentinels (or context.Canceled) for errors.Is.
type InstallError struct {
	Sentence, Hint, Detail string
	Kind                   error
	Err                    error
}

func (e *InstallError) Error() string {
	var b strings.Builder
	b.WriteString(e.Sentence)
	if e.Hint != "" {
		b.WriteString(": ")
		b.WriteString(e.Hint)
	}
	if e.Detail != "" {
		b.WriteString(" (")
		b.WriteString(e.Detail)
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns the framework's error, when there was one.
func (e *InstallError) Unwrap() error { return e.Err }

// Is matches the error's Kind.
func (e *InstallError) Is(target error) bool { return e.Kind != nil && target == e.Kind }

// NSError domains the installation path reports.
const (
	domainVZ    = "VZErrorDomain"
	domainURL   = "NSURLErrorDomain"
	domainCocoa = "NSCocoaErrorDomain"
	domainPOSIX = "NSPOSIXErrorDomain"
)

// VZErrorCode values, checked against Code-Hex/vz v3.7.1 vzerror.go (iota from
// 1 and from 10001) and against a transcription of Apple's VZError.h that
// spells the values out (VZErrorInstallationRequiresUpdate = 10006, ...).
const (
	vzInternal                 = 1
	vzInvalidConfiguration     = 2
	vzLimitExceeded            = 6
	vzNetworkError             = 7
	vzOutOfDiskSpace           = 8
	vzOperationCancelled       = 9
	vzNotSupported             = 10
	vzCatalogLoadFailed        = 10001
	vzInvalidCatalog           = 10002
	vzNoSupportedImages        = 10003
	vzRestoreImageLoadFailed   = 10004
	vzInvalidRestoreImage      = 10005
	vzInstallationNeedsUpdate  = 10006
	vzInstallationFailed       = 10007
	cocoaWriteOutOfSpace       = 640  // NSFileWriteOutOfSpaceError
	cocoaUserCancelled         = 3072 // NSUserCancelledError
	posixNoSpace               = 28   // ENOSPC on darwin
	urlCancelled               = -999
	urlTimedOut                = -1001
	urlCannotFindHost          = -1003
	urlCannotConnectToHost     = -1004
	urlNetworkConnectionLost   = -1005
	urlDNSLookupFailed         = -1006
	urlNotConnectedToInternet  = -1009
	urlDataNotAllowed          = -1020
	urlSecureConnectionFailed  = -1200
	urlCannotLoadFromNetwork   = -2000
	urlBackgroundSessionFailed = -997
)

// installRule maps a framework failure to a sentence. A rule matches when its
// domain matches (empty: any), the code is one of codes (none: any) and the
// message contains one of texts (none: any), compared without case.
type installRule struct {
	domain   string
	codes    []int
	texts    []string
	kind     error
	sentence string
	hint     string
}

const (
	hintDeviceSupport = "install the Xcode beta that matches it, or Apple's device support package (MobileDevice update) for that beta, then try again"
	hintNewerHost     = "update macOS on this Mac, or pick an older restore image"
)

// installRules is ordered: the first match wins, so rules keyed on the
// framework's text come before the ones keyed on a code alone. A function
// rather than a variable so that the table cannot be changed at run time.
func installRules() []installRule {
	return []installRule{
		{
			// The restore step itself refused the host: seen as VZErrorDomain 10007
			// with an underlying com.apple.MobileDevice.MobileRestore error, both
			// for betas without device support and for guests newer than the host.
			texts:    []string{"AMRestorePerformRestoreModeRestoreWithError", "MobileDevice.MobileRestore", "host version is unsupported", "update your host tools"},
			kind:     ErrNeedsDeviceSupport,
			sentence: "This Mac's restore tools cannot install this macOS",
			hint:     "if it is a beta, " + hintDeviceSupport + "; if it is newer than the macOS on this Mac, " + hintNewerHost,
		},
		{
			domain:   domainVZ,
			codes:    []int{vzInstallationNeedsUpdate},
			kind:     ErrNeedsDeviceSupport,
			sentence: "Installing a beta macOS needs this Mac to have the matching device support",
			hint:     hintDeviceSupport + "; for a released macOS, update macOS on this Mac first",
		},
		{
			domain:   domainVZ,
			codes:    []int{vzInvalidConfiguration},
			texts:    []string{"not available on this hardware", "not supported on this hardware"},
			kind:     ErrHostTooOld,
			sentence: "This Mac cannot run virtual machines",
			hint:     "macOS guests need a Mac with Apple silicon, with Vivarium running on it directly rather than inside another VM",
		},
		{
			domain:   domainVZ,
			codes:    []int{vzInvalidRestoreImage},
			kind:     ErrNotRestoreImage,
			sentence: "The file is not a macOS restore image (.ipsw) this Mac can install",
			hint:     "download the restore image again from Apple (a UniversalMac_…_Restore.ipsw file), or use \"latest\"",
		},
		{
			texts:    []string{"wrong file type"},
			kind:     ErrNotRestoreImage,
			sentence: "The file is not a macOS restore image (.ipsw)",
			hint:     "download the restore image again from Apple (a UniversalMac_…_Restore.ipsw file), or use \"latest\"",
		},
		{
			domain:   domainVZ,
			codes:    []int{vzRestoreImageLoadFailed},
			texts:    []string{"installation service"},
			kind:     ErrInstallFailed,
			sentence: "macOS's installation service did not answer while loading the restore image",
			hint:     "check the network connection and try again; if it keeps failing, restart this Mac",
		},
		{
			domain:   domainVZ,
			codes:    []int{vzRestoreImageLoadFailed},
			kind:     ErrNotRestoreImage,
			sentence: "The restore image could not be loaded",
			hint:     "it may be incomplete or damaged: download it again; if it is newer than the macOS on this Mac, " + hintNewerHost,
		},
		{
			domain:   domainVZ,
			codes:    []int{vzNoSupportedImages},
			kind:     ErrHostTooOld,
			sentence: "Apple offers no macOS that this Mac can virtualize",
			hint:     "update macOS on this Mac, or pass a restore image URL or file",
		},
		{
			domain:   domainVZ,
			codes:    []int{vzCatalogLoadFailed, vzInvalidCatalog},
			kind:     ErrNetworkLost,
			sentence: "Apple's list of macOS restore images could not be loaded",
			hint:     "check the network connection and try again, or pass a restore image URL or file instead of \"latest\"",
		},
		{
			domain: domainVZ, codes: []int{vzOutOfDiskSpace},
			kind: ErrNotEnoughSpace, sentence: sentenceNoSpace, hint: hintNoSpace,
		},
		{
			domain: domainCocoa, codes: []int{cocoaWriteOutOfSpace},
			kind: ErrNotEnoughSpace, sentence: sentenceNoSpace, hint: hintNoSpace,
		},
		{
			domain: domainPOSIX, codes: []int{posixNoSpace},
			kind: ErrNotEnoughSpace, sentence: sentenceNoSpace, hint: hintNoSpace,
		},
		{
			texts: []string{"no space left on device", "out of disk space", "not enough disk space", "not enough space"},
			kind:  ErrNotEnoughSpace, sentence: sentenceNoSpace, hint: hintNoSpace,
		},
		{
			domain: domainVZ, codes: []int{vzOperationCancelled},
			kind: context.Canceled, sentence: sentenceCancelled, hint: hintCancelled,
		},
		{
			domain: domainCocoa, codes: []int{cocoaUserCancelled},
			kind: context.Canceled, sentence: sentenceCancelled, hint: hintCancelled,
		},
		{
			domain: domainURL, codes: []int{urlCancelled},
			kind: context.Canceled, sentence: sentenceCancelled, hint: hintCancelled,
		},
		{
			domain: domainVZ, codes: []int{vzNetworkError},
			kind: ErrNetworkLost, sentence: sentenceNetwork, hint: hintNetwork,
		},
		{
			domain: domainURL,
			codes: []int{urlTimedOut, urlCannotFindHost, urlCannotConnectToHost, urlNetworkConnectionLost,
				urlDNSLookupFailed, urlNotConnectedToInternet, urlDataNotAllowed, urlSecureConnectionFailed,
				urlCannotLoadFromNetwork, urlBackgroundSessionFailed},
			kind: ErrNetworkLost, sentence: sentenceNetwork, hint: hintNetwork,
		},
		{
			texts: []string{"network connection was lost", "internet connection appears to be offline"},
			kind:  ErrNetworkLost, sentence: sentenceNetwork, hint: hintNetwork,
		},
		{
			domain:   domainVZ,
			codes:    []int{vzLimitExceeded},
			kind:     ErrVMLimit,
			sentence: "Apple lets at most two macOS VMs run at once on a Mac",
			hint:     "stop another macOS VM, then try again",
		},
		{
			domain:   domainVZ,
			codes:    []int{vzNotSupported},
			kind:     ErrHostTooOld,
			sentence: "This Mac cannot install this macOS",
			hint:     hintNewerHost,
		},
		{
			domain:   domainVZ,
			codes:    []int{vzInstallationFailed},
			kind:     ErrInstallFailed,
			sentence: "macOS installation failed",
			hint:     "try again; if it is a beta macOS, install the matching Xcode beta or device support package first; if it is newer than the macOS on this Mac, " + hintNewerHost,
		},
		{
			domain:   domainVZ,
			codes:    []int{vzInternal},
			kind:     ErrInstallFailed,
			sentence: "The Virtualization framework failed while installing macOS",
			hint:     "try again; if it keeps failing, restart this Mac, and for a beta macOS install the matching device support first",
		},
	}
}

const (
	sentenceNoSpace   = "There is not enough disk space to install macOS"
	hintNoSpace       = "free up space on this Mac (a macOS VM needs room for its disk as well as the restore image), then try again"
	sentenceCancelled = "The installation was cancelled"
	hintCancelled     = "nothing usable was installed; create the VM again to install"
	sentenceNetwork   = "The network connection was lost during installation"
	hintNetwork       = "installing macOS needs to reach Apple's servers: check the connection, then create the VM again"
)

func (r installRule) matches(domain string, code int, message string) bool {
	if r.domain != "" && r.domain != domain {
		return false
	}
	if len(r.codes) > 0 && !containsInt(r.codes, code) {
		return false
	}
	if len(r.texts) == 0 {
		return true
	}
	lower := strings.ToLower(message)
	for _, t := range r.texts {
		if strings.Contains(lower, strings.ToLower(t)) {
			return true
		}
	}
	return false
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// ExplainInstallError turns a failure from loading a restore image or
// installing macOS into an *InstallError. domain and code are the NSError's;
// message is its text, best with the user info appended (the underlying
// error's domain often says more than the top one). err is kept for Unwrap.
// A nil err with an empty domain returns nil.
func ExplainInstallError(domain string, code int, message string, err error) error {
	if err == nil && domain == "" && message == "" {
		return nil
	}
	detail := message
	if domain != "" {
		detail = strings.TrimSpace(fmt.Sprintf("%s code %d: %s", domain, code, message))
	} else if detail == "" && err != nil {
		detail = err.Error()
	}
	explained := &InstallError{Detail: detail, Err: err}
	if domain == "" && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		explained.Sentence, explained.Hint, explained.Kind = sentenceCancelled, hintCancelled, context.Canceled
		return explained
	}
	for _, r := range installRules() {
		if r.matches(domain, code, message) {
			explained.Sentence, explained.Hint, explained.Kind = r.sentence, r.hint, r.kind
			return explained
		}
	}
	explained.Sentence = "macOS installation failed"
	explained.Hint = "the details below are Apple's; try again, and if it keeps failing, restart this Mac"
	explained.Kind = ErrInstallFailed
	return explained
}

// NewerThanHostError is the refusal to use when a restore image has no
// supported configuration on this host: the guest is newer than the host.
func NewerThanHostError(imageVersion, hostVersion string) *InstallError {
	sentence := "This macOS is newer than this Mac can virtualize"
	if imageVersion != "" && hostVersion != "" {
		sentence = fmt.Sprintf("macOS %s is newer than this Mac (macOS %s) can virtualize", imageVersion, hostVersion)
	}
	return &InstallError{Sentence: sentence, Hint: hintNewerHost, Kind: ErrHostTooOld}
}
