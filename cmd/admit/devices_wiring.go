package main

import (
	"path/filepath"

	"github.com/admitgate/admit/httpapi"
)

// openDevices opens the paired door devices kept in the data directory
// (httpapi.DevicesFile): their scanner tokens work beside the configured
// ones and survive restarts; the file holds hashes, never the tokens.
func openDevices(dataDir string) (*httpapi.DeviceStore, error) {
	return httpapi.OpenDevices(filepath.Join(dataDir, httpapi.DevicesFile), 0, nil)
}

// laneParts tells the API which lanes have a scanner of their own, so the
// operator page does not show a door whose scans come over the API only as
// missing its scanner. (Whether a lane drives a relay the API knows from
// its turnstile.)
func laneParts(infos []httpapi.LaneInfo, lanes []LaneConfig) {
	for i := range infos {
		for j := range lanes {
			if lanes[j].ID == infos[i].ID {
				infos[i].HasScanner = lanes[j].hasScanner()
			}
		}
	}
}
