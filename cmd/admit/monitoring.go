package main

import (
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
)

// The metrics the alert rules in deploy/monitoring need and no adapter
// exports: the data directory's free space (an appliance often has no
// node exporter beside it) and the connection of every lane's own scanner
// (admit_lane_scanner_connected covers only turnstile lanes, and shows 0
// for a turnstile fed over the API, which has no scanner to lose).

var (
	descDataAvail = prometheus.NewDesc("admit_data_dir_avail_bytes",
		"Bytes free for admit on the file system of the data directory.", nil, nil)
	descDataSize = prometheus.NewDesc("admit_data_dir_size_bytes",
		"Size of the file system of the data directory.", nil, nil)
	descScannerConnected = prometheus.NewDesc("admit_scanner_connected",
		"1 when the lane's own scanner (USB HID or serial) is attached and open; only lanes with a scanner have one.", []string{"lane"}, nil)
)

// hostCollector reads the data directory's file system and the rig's
// scanners at scrape time.
type hostCollector struct {
	dataDir string
	rig     *rig
}

func newHostCollector(dataDir string, r *rig) *hostCollector {
	return &hostCollector{dataDir: dataDir, rig: r}
}

// Describe implements prometheus.Collector.
func (c *hostCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descDataAvail
	ch <- descDataSize
	ch <- descScannerConnected
}

// Collect implements prometheus.Collector. A data directory that cannot be
// read (not made yet) exports no size rather than a zero that would alert.
func (c *hostCollector) Collect(ch chan<- prometheus.Metric) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(c.dataDir, &st); err == nil {
		bs := float64(st.Bsize)
		ch <- prometheus.MustNewConstMetric(descDataAvail, prometheus.GaugeValue, float64(st.Bavail)*bs)
		ch <- prometheus.MustNewConstMetric(descDataSize, prometheus.GaugeValue, float64(st.Blocks)*bs)
	}
	if c.rig == nil {
		return
	}
	c.rig.set.ScannerConnected(func(lane string, connected bool) {
		v := 0.0
		if connected {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(descScannerConnected, prometheus.GaugeValue, v, lane)
	})
}
