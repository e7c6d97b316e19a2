// Package deploy holds what puts admit on a machine: the systemd unit
// (admit.service), the configuration skeleton (admit.toml) and the full
// example (admit.example.toml), admit-setup (the admit user, the data
// directory and the token files), the Debian package's nfpm configuration
// and maintainer scripts (nfpm.yaml, deb/), the udev rules (udev/) and the
// monitoring files (monitoring/). Its tests install admit into a scratch
// root with `make install` and build the .deb with `make deb`, and check
// what lands where; docs/install.md is the page for people.
package deploy
