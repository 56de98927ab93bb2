// Package browsertest checks the circuitdebug status page in a real browser:
// Debian's chromium, driven through the DevTools protocol by chromedp. It is a
// module of its own so that the circuit module never depends on chromedp; it
// holds tests only.
//
// Run it with go test in this directory. It needs chromium on the PATH or at
// /usr/bin/chromium (Debian's package is chromium), or another Chromium at
// $CHROMIUM, and skips without one, unless CI=true, where a missing browser
// fails. The screenshot it takes is
// written to $TEST_ARTIFACTS (or a temporary directory) and, with
// UPDATE_SCREENSHOT=1, to testdata/screenshot.png.
package browsertest
