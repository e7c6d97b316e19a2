// Package web is the appliance's web pages: the live operator page (/), the
// door page for staff with handhelds or phones (/door) and the admin page
// (/admin), with their stylesheet, scripts and icon under /assets/. The
// files are embedded in the binary and need nothing from the network: no
// CDN, no fonts, no chart library, no build step; the box is often offline.
//
// # Pages, tokens and roles
//
// The pages are static; everything they show comes from the /v1 API,
// called from the browser with the bearer token the user enters once per
// browser session (kept in sessionStorage, never in a cookie, so no other
// site can make the browser use it). GET /v1/session tells a page the
// token's name, role and lanes, and the page follows the role: a scanner
// token opens the door page only, a viewer the operator page, an admin every
// page. Fetching the files needs no token; the data behind them does.
// API errors are shown in words, with the API's own message.
//
// # Door devices
//
// A phone, tablet or kiosk at a door is paired rather than signed in: an
// admin names it and chooses its lanes on the admin page, which shows the
// one-time pairing link as a QR code (drawn by assets/qr.js, an encoder of
// our own: byte mode, level M, versions 1 to 10), the link and the code to
// type. The device opens /door#pair=CODE; the door page takes the code out
// of the address bar, exchanges it (POST /v1/devices/pair) for the device's
// own scanner token and keeps that in localStorage, so a kiosk that
// restarts scans again by itself. An unpaired device's next request is
// 401, and the page says the device was unpaired. The tests decode the QR
// code from a screenshot with a decoder written apart from the encoder
// (qrdecode_test.go), and every version and mask the encoder makes.
//
// # The door page
//
// One input keeps the focus and submits on Enter (or Tab), as handheld
// scanners in keyboard mode type; a toggle hides the on-screen keyboard for
// them. The camera scans through the browser's BarcodeDetector where there
// is one (the button stays hidden otherwise). Each scan carries a fresh
// nonce; a scan that gets no answer is retried with the same nonce, and
// scanning the same barcode again after a failed attempt reuses it, so a
// retry never redeems a ticket twice. The answer fills the screen, green or
// red, with the reason in words, the price type (a CHILD ticket lets staff
// check age), and for an already used ticket when and at which lane it was
// first used; a denial beeps (WebAudio, no sound files). Answers are in
// words: the event by its name (GET /v1/events), "too early — opens at
// 18:30" in the venue's time zone (GET /v1/session), a turnstile's refusal
// during an emergency release as the release (not a system fault), the
// price type by name with its code small. Idle, the page shows READY, the
// lane and the events it admits, or the emergency release, or that the
// appliance does not answer; in kiosk mode READY fills the screen, the page
// goes full screen and keeps the screen on with the Wake Lock API where the
// browser has it (and says so where it has not).
//
// # The operator page
//
// A strip at the top sums the lanes up ("2 of 3 lanes OK · 1 faulted:
// North 1 relay"); a lane is judged by what it has by design (GET
// /v1/lanes: has_scanner, has_relay), so a door whose scans come over the
// API is not shown as missing a scanner or relay. The emergency panel
// says, per turnstile lane, its mode (open or hold) and its state apart.
// Per event: inside now, used against sold by provider and price type,
// entries and exits per minute over the last hours (an SVG chart drawn by
// the page), denials by reason; every lane's state, scanner, relay, fault,
// emergency release and last decision; the age of each provider's last
// import. It polls the API every two seconds and updates elements in place,
// so nothing flickers, and keeps the last figures on screen, marked stale,
// while the appliance restarts.
//
// # The admin page
//
// Upload a file or paste barcodes; a dry run previews what would be added,
// updated, left unchanged and rejected (with the rejected lines) before
// Apply loads it. Imports can be withdrawn. A ticket is looked up with its
// redemptions and history, and cancelled, invalidated, blocked, unblocked,
// reissued or an admission of it annulled, each destructive action after a
// confirmation. The events a pass admits to are listed with the ticket:
// one is added from the catalog's others (POST /v1/tickets/{barcode}/events)
// and admits at once; removing one asks first. The only event of a ticket
// without a period offers no removal (the index refuses a ticket that admits
// to nothing); when a change made elsewhere meanwhile gets a refusal, the
// refusal is shown in words over the ticket as it is now. Providers and
// events are kept there too.
//
// # Serving
//
// [Site] serves the files with a strict Content-Security-Policy (scripts,
// styles and connections to the appliance only, no framing), ETags for
// revalidation, and gzip when the client accepts it. The HTTP API mounts it
// through its Config.Pages: it asks [Site.Has] for paths outside its own
// routes, so /v1 and the health endpoints keep their answers.
//
// The browser tests drive Debian's Chromium headless through chromedp
// against the whole appliance (index on disk, importer, API and pages) on a
// real socket. ADMIT_WEB_ARTIFACTS names a directory to keep their
// screenshots in (default: a temporary directory removed after the test);
// ADMIT_CHROMIUM names the browser binary (default /usr/bin/chromium;
// scripts/deps.sh test installs it, and the tests fail, saying so, when it
// is missing). With -short they are skipped. A test fails on any script
// error, console error or Content-Security-Policy refusal in the page.
package web
