// Package atomicfile replaces a small file so that a crash or a power cut
// leaves the old content or all of the new, never a part, and a reader
// never sees half a file: the state files, reports and configurations the
// adapters keep beside the store (outbound positions, drop folder reports,
// door devices, the hub's server configuration).
//
// The store itself writes through Pebble's vfs instead (index), so that its
// tests can inject disk faults.
package atomicfile
