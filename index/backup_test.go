package index

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/internal/testkit"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/rs/zerolog"
)

// writeFS writes a file into fs, making its folder.
func writeFS(t *testing.T, fs vfs.FS, name, data string) {
	t.Helper()
	if err := fs.MkdirAll(fs.PathDir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, fs, name, []byte(data))
}

// fixtureWorkload gives a store tickets, admissions, refusals, an annulment
// and a reissue.
func fixtureWorkload(t *testing.T, ix *Index) {
	t.Helper()
	ctx := context.Background()
	load(t, ix, tk("B-1", "derby"), tk("B-2", "derby"), tk("B-3", "derby", "fest"), tk("B-4", "fest"))
	scanAt(ix, "B-1", during)
	scanAt(ix, "B-1", during.Add(time.Minute))
	scanAt(ix, "nope", during)
	d := scanAt(ix, "B-3", during)
	if _, err := ix.Annul(ctx, d.Seq, "admin"); err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Reissue(ctx, "B-2", "B-2b", "admin"); err != nil {
		t.Fatal(err)
	}
	scanAt(ix, "B-4", during)
	waitWritten(t, ix)
}

func TestBackupRestore(t *testing.T) {
	ctx := context.Background()
	ix, fs := openMem(t)
	fixtureWorkload(t, ix)
	writeFS(t, fs, "data/devices.json", `{"devices":[]}`)
	writeFS(t, fs, "data/outbound/export-secutix.json", `{"after":3}`)
	writeFS(t, fs, "data/outbound/.export-secutix.json.123.tmp", `{"after":4`) // a save under way

	m, err := ix.Backup(ctx, "backups/b1", BackupOptions{Admit: "v-test", Also: []string{"devices.json", "outbound", "webhooks-none"}})
	if err != nil {
		t.Fatal(err)
	}
	st := ix.Stats()
	if m.LastSeq != st.LastSeq || m.Format != StoreFormat || m.StoreID != ix.StoreID() || m.Admit != "v-test" ||
		m.Tickets != uint64(st.Tickets) || m.ManifestVersion != ManifestVersion {
		t.Errorf("manifest %+v; the store: seq %d, %d tickets, id %s", m, st.LastSeq, st.Tickets, ix.StoreID())
	}
	if time.Since(m.CreatedAt) > time.Minute || m.CreatedAt.Nanosecond()%int(time.Millisecond) != 0 {
		t.Errorf("created at %v", m.CreatedAt)
	}
	paths := map[string]BackupFile{}
	for _, f := range m.Files {
		paths[f.Path] = f
	}
	for _, want := range []string{"bloom.snapshot", "devices.json", "outbound/export-secutix.json"} {
		if _, ok := paths[want]; !ok {
			t.Errorf("the backup lacks %s: %v", want, m.Files)
		}
	}
	for p := range paths {
		if strings.Contains(p, ".tmp") || strings.HasPrefix(p, "tmp/") || p == ManifestFile {
			t.Errorf("the backup holds %s", p)
		}
	}
	if back, err := ReadManifest(fs, "backups/b1"); err != nil || len(back.Files) != len(m.Files) || back.LastSeq != m.LastSeq {
		t.Fatalf("ReadManifest: %+v %v", back, err)
	}

	restored, err := Restore(fs, "backups/b1", "restored")
	if err != nil {
		t.Fatal(err)
	}
	if restored.StoreID != m.StoreID {
		t.Errorf("Restore returned manifest of %s", restored.StoreID)
	}
	names, _ := fs.List("restored")
	for _, n := range names {
		if strings.HasPrefix(n, ".restore") {
			t.Errorf("the restore left %s behind", n)
		}
	}
	var logs testkit.Buffer // Open's cache warm-up logs from its own goroutine
	o := testOptions(fs)
	o.Logger = zerolog.New(&logs).Level(zerolog.DebugLevel)
	back, err := Open("restored", o)
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	if strings.Contains(logs.String(), "bloom filter rebuilt") {
		t.Errorf("the restored store rebuilt its filter instead of loading the backup's snapshot:\n%s", logs.String())
	}
	if back.StoreID() != ix.StoreID() || back.Format() != StoreFormat {
		t.Errorf("restored store %s format %d", back.StoreID(), back.Format())
	}
	if got, want := describeStore(t, back), describeStore(t, ix); got != want {
		t.Errorf("the restored store holds\n%s\nthe store holds\n%s", got, want)
	}
	for _, f := range []string{"devices.json", "outbound/export-secutix.json"} {
		a, _ := readFS(fs, "data/"+f)
		b, err := readFS(fs, "restored/"+f)
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("restored %s: %q %v, want %q", f, b, err, a)
		}
	}
	// The restored store serves: what was used stays used, the rest admits.
	if d := scanAt(back, "B-1", during.Add(time.Hour)); d.Reason != gate.ReasonAlreadyUsed {
		t.Errorf("B-1 after the restore: %+v", d)
	}
	if d := scanAt(back, "B-3", during.Add(time.Hour)); d.Reason != gate.ReasonOK || d.Seq != m.LastSeq+2 {
		t.Errorf("B-3 after the restore: %+v (the journal ended at %d)", d, m.LastSeq)
	}
}

func readFS(fs vfs.FS, name string) ([]byte, error) {
	f, err := fs.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var b bytes.Buffer
	_, err = b.ReadFrom(f)
	return b.Bytes(), err
}

// TestBackupUnderLoad: a backup taken while lanes admit holds every
// admission answered before it began, and its tables are copies, not links
// to the store's.
func TestBackupUnderLoad(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	o := testOptions(vfs.Default)
	ix, err := Open(filepath.Join(root, "data"), o)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if _, err := ix.PutEvent(ctx, derby); err != nil {
		t.Fatal(err)
	}
	const lanes, perLane = 4, 300
	var tickets []gate.Ticket
	for l := range lanes {
		for i := range perLane {
			tickets = append(tickets, tk(fmt.Sprintf("L%d-%04d", l, i), "derby"))
		}
	}
	load(t, ix, tickets...)
	if err := ix.db.Flush(); err != nil { // tables to link, as well as a WAL
		t.Fatal(err)
	}

	type ack struct {
		barcode string
		seq     uint64
	}
	var mu sync.Mutex
	var acked []ack
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for l := range lanes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perLane {
				select {
				case <-stop:
					return
				default:
				}
				bc := fmt.Sprintf("L%d-%04d", l, i)
				d := ix.Scan(ctx, gate.Scan{Barcode: bc, Lane: fmt.Sprintf("lane-%d", l), Direction: gate.In, At: during})
				if d.Reason != gate.ReasonOK {
					t.Errorf("%s: %+v", bc, d)
					return
				}
				ix.Scan(ctx, gate.Scan{Barcode: "unknown-" + bc, Lane: "x", Direction: gate.In, At: during}) // a refusal between
				mu.Lock()
				acked = append(acked, ack{bc, d.Seq})
				mu.Unlock()
			}
		}()
	}
	// Wait for some admissions, then back up while they go on.
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 100 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	mu.Lock()
	before := append([]ack(nil), acked...)
	mu.Unlock()
	dir := filepath.Join(root, "backup")
	m, err := ix.Backup(ctx, dir, BackupOptions{})
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if len(before) < 100 {
		t.Fatalf("only %d admissions before the backup", len(before))
	}
	ssts := 0
	for _, f := range m.Files {
		if !strings.HasSuffix(f.Path, ".sst") {
			continue
		}
		ssts++
		st, err := os.Stat(filepath.Join(dir, f.Path))
		if err != nil {
			t.Fatal(err)
		}
		if n := st.Sys().(*syscall.Stat_t).Nlink; n != 1 {
			t.Errorf("%s has %d links: a table of the backup is the store's own", f.Path, n)
		}
	}
	if ssts == 0 {
		t.Errorf("no table in the backup: %v", m.Files)
	}

	data := filepath.Join(root, "restored")
	if _, err := Restore(vfs.Default, dir, data); err != nil {
		t.Fatal(err)
	}
	back, err := Open(data, testOptions(vfs.Default))
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	if back.Stats().LastSeq != m.LastSeq {
		t.Errorf("restored journal ends at %d, the manifest says %d", back.Stats().LastSeq, m.LastSeq)
	}
	var maxBefore uint64
	for _, a := range before {
		maxBefore = max(maxBefore, a.seq)
	}
	original, err := ix.Entries(ctx, 0, int(maxBefore))
	if err != nil {
		t.Fatal(err)
	}
	restored, err := back.Entries(ctx, 0, int(maxBefore))
	if err != nil {
		t.Fatal(err)
	}
	if len(restored) != len(original) || len(restored) != int(maxBefore) {
		t.Fatalf("restored journal holds %d entries up to %d, the store %d", len(restored), maxBefore, len(original))
	}
	for i := range original {
		a, b := original[i], restored[i]
		if a.Seq != b.Seq || a.Kind != b.Kind || a.Decision.Barcode != b.Decision.Barcode || a.Decision.Reason != b.Decision.Reason {
			t.Fatalf("journal entry %d: restored %+v, the store %+v", a.Seq, b, a)
		}
	}
	for _, a := range before {
		v, err := back.Ticket(ctx, a.barcode)
		if err != nil {
			t.Fatal(err)
		}
		if len(v.Redemptions) != 1 || v.Redemptions[0].Admissions != 1 || v.Redemptions[0].First.Seq != a.seq {
			t.Fatalf("%s, admitted as %d before the backup: restored redemptions %+v", a.barcode, a.seq, v.Redemptions)
		}
		if d := scanAt(back, a.barcode, during.Add(time.Hour)); d.Reason != gate.ReasonAlreadyUsed {
			t.Fatalf("%s in the restored store: %+v", a.barcode, d)
		}
	}
}

func TestBackupRefusals(t *testing.T) {
	ctx := context.Background()
	ix, fs := openMem(t)
	fixtureWorkload(t, ix)
	for _, tc := range []struct {
		name, dir string
		setup     func()
		code      string
		says      string
	}{
		{name: "inside the data directory", dir: "data/backup", code: gate.EINVALID, says: "inside the data directory"},
		{name: "the data directory", dir: "data", code: gate.EINVALID, says: "inside the data directory"},
		{name: "not empty", dir: "full", setup: func() { writeFS(t, fs, "full/x", "x") }, code: gate.ECONFLICT, says: "is not empty"},
		{name: "empty name", dir: "", code: gate.EINVALID, says: "needs a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup()
			}
			_, err := ix.Backup(ctx, tc.dir, BackupOptions{})
			if gate.ErrorCode(err) != tc.code || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("Backup(%q): %v, want %s saying %q", tc.dir, err, tc.code, tc.says)
			}
		})
	}
	t.Run("two at once", func(t *testing.T) {
		ix.backupMu.Lock()
		_, err := ix.Backup(ctx, "second", BackupOptions{})
		ix.backupMu.Unlock()
		if gate.ErrorCode(err) != gate.ECONFLICT {
			t.Fatalf("a second backup at once: %v", err)
		}
		if _, err := fs.Stat("second"); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the refused backup made its directory: %v", err)
		}
	})
	t.Run("a store file named as another", func(t *testing.T) {
		_, err := ix.Backup(ctx, "other", BackupOptions{Also: []string{"db"}})
		if err == nil {
			t.Fatal("db accepted as a further file")
		}
		if _, err := fs.Stat("other"); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a failed backup left its directory: %v", err)
		}
	})
	t.Run("closed", func(t *testing.T) {
		ix2, _ := openMem(t)
		_ = ix2.Close()
		if _, err := ix2.Backup(ctx, "b-closed", BackupOptions{}); !errors.Is(err, ErrClosed) {
			t.Fatalf("backup of a closed store: %v", err)
		}
	})
}

func TestRestoreRefusals(t *testing.T) {
	ctx := context.Background()
	ix, fs := openMem(t)
	fixtureWorkload(t, ix)
	if err := ix.db.Flush(); err != nil { // a table to damage
		t.Fatal(err)
	}
	if _, err := ix.Backup(ctx, "b", BackupOptions{}); err != nil {
		t.Fatal(err)
	}
	m, err := ReadManifest(fs, "b")
	if err != nil {
		t.Fatal(err)
	}
	// copyBackup copies b to name, then lets change alter it.
	copyBackup := func(t *testing.T, name string, change func(m *Manifest)) {
		t.Helper()
		for _, f := range m.Files {
			data, err := readFS(fs, "b/"+f.Path)
			if err != nil {
				t.Fatal(err)
			}
			writeFS(t, fs, name+"/"+f.Path, string(data))
		}
		mm := *m
		mm.Files = append([]BackupFile(nil), m.Files...)
		if change != nil {
			change(&mm)
		}
		b, _ := json.Marshal(&mm)
		writeFS(t, fs, name+"/"+ManifestFile, string(b))
	}
	sst := ""
	for _, f := range m.Files {
		if strings.HasSuffix(f.Path, ".sst") {
			sst = f.Path
		}
	}
	if sst == "" {
		t.Fatalf("no table in the backup: %v", m.Files)
	}
	for _, tc := range []struct {
		name   string
		backup func(t *testing.T) string
		data   string
		code   string
		says   string
	}{
		{name: "into a store", backup: func(*testing.T) string { return "b" }, data: "data", code: gate.ECONFLICT, says: "restore only into an empty data directory"},
		{name: "no manifest", backup: func(t *testing.T) string { writeFS(t, fs, "nothing/x", "x"); return "nothing" }, data: "r1", code: gate.EINVALID, says: "holds no backup.json"},
		{name: "a damaged table", backup: func(t *testing.T) string {
			copyBackup(t, "damaged", nil)
			data, _ := readFS(fs, "damaged/"+sst)
			data[len(data)/2] ^= 0x40
			writeFS(t, fs, "damaged/"+sst, string(data))
			return "damaged"
		}, data: "r2", code: gate.EINVALID, says: "is damaged: " + sst},
		{name: "a missing file", backup: func(t *testing.T) string {
			copyBackup(t, "missing", nil)
			if err := fs.Remove("missing/" + sst); err != nil {
				t.Fatal(err)
			}
			return "missing"
		}, data: "r3", code: gate.EINVALID, says: "lacks " + sst},
		{name: "a newer format", backup: func(t *testing.T) string {
			copyBackup(t, "newer", func(m *Manifest) { m.Format = StoreFormat + 1 })
			return "newer"
		}, data: "r4", code: gate.EINVALID, says: "restore it with a newer admit"},
		{name: "a newer manifest", backup: func(t *testing.T) string {
			copyBackup(t, "newer-manifest", func(m *Manifest) { m.ManifestVersion = ManifestVersion + 1 })
			return "newer-manifest"
		}, data: "r5", code: gate.EINVALID, says: "restore it with a newer admit"},
		{name: "a path outside", backup: func(t *testing.T) string {
			copyBackup(t, "escape", func(m *Manifest) { m.Files[0].Path = "../../etc/passwd" })
			return "escape"
		}, data: "r6", code: gate.EINVALID, says: "lists a bad file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.backup(t)
			_, err := Restore(fs, dir, tc.data)
			if gate.ErrorCode(err) != tc.code || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("Restore(%s, %s): %v, want %s saying %q", dir, tc.data, err, tc.code, tc.says)
			}
			if tc.data != "data" {
				names, _ := fs.List(tc.data)
				if len(names) != 0 {
					t.Errorf("a refused restore left %v in %s", names, tc.data)
				}
			}
		})
	}
}

// FuzzReadManifest: a manifest read from a backup, whatever it holds, is
// refused with an error or names only clean paths inside the backup, each
// once, with a whole SHA-256.
func FuzzReadManifest(f *testing.F) {
	f.Add([]byte(`{"manifest_version":1,"admit_version":"v1","store_id":"ab","store_format":3,"last_seq":9,"tickets":2,` +
		`"created_at":"2026-12-07T20:55:39.523Z","files":[{"path":"db/MANIFEST-000001","size":39,` +
		`"sha256":"c1b4b7f18a5673e8305fe658bdea66ce926344c49655c6a0146820e9447d36b4"},{"path":"devices.json","size":2,` +
		`"sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}]}`))
	f.Add([]byte(`{"manifest_version":1,"files":[{"path":"../x","size":1,"sha256":""}]}`))
	f.Add([]byte(`{"manifest_version":2}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fs := vfs.NewMem()
		if err := fs.MkdirAll("b", 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, fs, "b/"+ManifestFile, data)
		m, err := ReadManifest(fs, "b")
		if err != nil {
			if gate.ErrorCode(err) != gate.EINVALID {
				t.Fatalf("a bad manifest is not EINVALID: %v", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, bf := range m.Files {
			if !cleanRelative(bf.Path) || strings.HasPrefix(bf.Path, "..") || filepath.IsAbs(bf.Path) || seen[bf.Path] || len(bf.SHA256) != 64 {
				t.Fatalf("accepted %+v", bf)
			}
			seen[bf.Path] = true
		}
	})
}
