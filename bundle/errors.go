package bundle

import "errors"

// ErrSigningNeedsMacOS is returned by Sign where there is no codesign: the
// .app can be assembled anywhere, but only macOS can sign it.
var ErrSigningNeedsMacOS = errors.New("signing the .app needs macOS: codesign is not on PATH")
