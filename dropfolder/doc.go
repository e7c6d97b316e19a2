// Package dropfolder imports the files that appear in watched directories,
// one directory per provider: how periodic exports (the SecuTix reseller file
// every 15 minutes, delivered by mail or SFTP) get in without a person.
//
// # A file's way
//
// A file dropped into a folder is imported once it is complete: its size and
// modification time must stay the same for the settle time (10s by default),
// since deliveries write slowly. Hidden files and names ending in .part,
// .tmp, .filepart or .partial (uploads still under way) are left alone, and
// so are directories, links and other non-regular files. Settled files are
// taken oldest first, so successive exports apply in order.
//
//	drop/export.csv                          dropped
//	drop/processing/<claim>_export.csv       claimed: moved here, then imported
//	drop/done/export.csv                     imported (or failed/ when refused)
//	drop/done/export.csv.report.json         beside it: the gate.ImportResult or the error
//
// A name already taken in done/ or failed/ gets a timestamp before its
// extension (export_20261205-201500.csv), so nothing is overwritten. To retry
// a failed file, move it back into the folder.
//
// # A writer that pauses
//
// Settling is a guess: a writer that pauses for longer than the settle time
// has its file claimed half written. So the claimed file is watched while it
// is imported: when its size, modification time or identity (device and
// inode) differ from what settled, or change while the import reads it, the
// read fails at its end, the import changes nothing, and the file goes back
// into the folder to settle again and be imported whole (three times at
// most; then it is filed in failed/ with a report). A file that changes after
// an import read all of it and was applied goes to failed/ with a report
// naming that import, whose last line may have been cut. Writers that can
// should write under a temporary name (.part, .tmp, or hidden) and rename the
// file when it is complete: a rename is never seen half done.
//
// A claimed file renamed inside processing/ while it is imported is found by
// its identity and filed under the name it was dropped as; one taken out of
// processing/ leaves only its report. The report's note says which.
//
// # Never lost, never twice
//
// The claim is a rename into processing/ (synced), so a file is in exactly one
// place at any time. The import's source names the claim ("export.csv (drop
// 20261205T201500.000000000Z)"), and the report is written in processing/
// before the file and report move on. After a crash or stop, the first pass
// finishes what processing/ holds before any new file: a file with its report
// is moved on; a file without one was being imported: when the store has an
// import record with its source ([Options.Imports]), the import was applied
// and the file is filed as done from that record; otherwise it is imported
// again (the store applies an import atomically, so it was not applied).
// A file that cannot be read stays where it is and is logged once; a file
// that disappears is forgotten.
//
// # Running
//
// [Watcher.Run] lists the folders every poll interval (2s), woken sooner by
// fsnotify, and returns when its context ends; an import cut short by that
// stays in processing/ for the next start. [Watcher.Sweep] is one pass, for
// tests and tools.
package dropfolder
